// The alerts page: a firing that arrives while it is open (notice.js announces it as
// `alerts:shown`) goes to the top of the recent list and marks its alert fired; and a button
// asks for browser notifications (only when clicked).
"use strict";

(() => {
  const events = document.getElementById("alert-events");
  const empty = document.getElementById("alert-events-empty");
  const KEPT = 20; // as many as the page is rendered with

  function utc(iso) {
    const moment = new Date(iso);
    return Number.isNaN(moment.getTime()) ? "" : `${moment.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  }

  function timeOf(iso) {
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = utc(iso);
    return time;
  }

  function firingAdd(data) {
    if (!events || events.querySelector(`[data-event-id="${data.event_id}"]`)) return;
    const item = document.createElement("li");
    item.dataset.eventId = data.event_id;
    const message = document.createElement("span");
    message.className = "al-message";
    message.textContent = data.message;
    item.append(timeOf(data.fired_at), " ", message);
    events.prepend(item);
    while (events.children.length > KEPT) events.lastElementChild.remove();
    if (empty) empty.hidden = true;
  }

  function alertFired(data) {
    const row = document.querySelector(`.al-item[data-alert-id="${data.alert_id}"]`);
    if (!row) return;
    const state = row.querySelector('[data-field="state"]');
    const badge = document.createElement("span");
    badge.className = "al-badge";
    badge.textContent = "Fired";
    // As the page writes prices: 4 decimals below 10 (FX rates, pennies), else 2.
    const digits = Math.abs(Number(data.value)) < 10 ? 4 : 2;
    const value = Number(data.value).toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    state.replaceChildren(badge, " at ", timeOf(data.fired_at), ` at ${value} ${data.currency}`);
    row.className = row.className.replace(/\bal-(armed|waiting|fired)\b/, "al-fired");
  }

  document.addEventListener("alerts:shown", (event) => {
    firingAdd(event.detail);
    alertFired(event.detail);
  });

  // Browser notifications: offered only where the browser has them and the person has not
  // answered yet; asked for on the button's click alone.
  const button = document.getElementById("alert-notify");
  const said = document.getElementById("alert-notify-state");
  if (!button || !("Notification" in window)) return;
  const answers = {
    granted: "Browser notifications are on: a firing shows one while this site's tab is out of sight.",
    denied: "Browser notifications are blocked for this site (change it in the browser's site settings).",
  };
  function showAnswer() {
    button.hidden = Notification.permission !== "default";
    said.textContent = answers[Notification.permission] || "";
  }
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    showAnswer();
  });
  showAnswer();
})();
