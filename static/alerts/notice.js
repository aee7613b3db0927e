// Alert notices on every page of a signed-in person. socket.js re-dispatches each `alert`
// message as a `realtime:alert` DOM event; each becomes a notice at the corner (role=alert, so
// screen readers announce it), newest on top, a few kept, each with its time, a link to the
// alerts page and a dismiss button. A page with no socket of its own (forms, the alerts page)
// gets one here: every signed-in socket receives its owner's alerts, whatever it watches.
"use strict";

(() => {
  const box = document.getElementById("alert-notices");
  if (!box) return;
  const KEPT = 4; // notices on screen at once; older ones are dropped
  const shown = new Set(); // event ids: two sockets on one page must not show one twice

  function clock(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function notice(data) {
    const item = element("div", "al-notice");
    item.setAttribute("role", "alert");
    item.dataset.eventId = data.event_id;
    const meta = element("p", "al-notice-meta");
    const time = element("time", "", clock(data.fired_at));
    time.dateTime = data.fired_at;
    const link = element("a", "", "Your alerts");
    link.href = box.dataset.alertsUrl;
    meta.append(time, " \u00b7 ", link);
    const close = element("button", "al-notice-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss this notice");
    close.addEventListener("click", () => item.remove());
    item.append(element("p", "al-notice-text", data.message), meta, close);
    box.prepend(item);
    while (box.children.length > KEPT) box.lastElementChild.remove();
  }

  // A browser notification too, only once the person allowed it (the alerts page asks, on a
  // click, never unprompted) and only while this tab is out of sight.
  function notification(data) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden) return;
    const shownAlso = new Notification("Price alert", { body: data.message, tag: `alert-${data.event_id}` });
    shownAlso.addEventListener("click", () => window.focus());
  }

  document.addEventListener("realtime:alert", (event) => {
    const data = event.detail && event.detail.data;
    if (!data || shown.has(data.event_id)) return;
    shown.add(data.event_id);
    notice(data);
    notification(data);
    document.dispatchEvent(new CustomEvent("alerts:shown", { detail: data }));
  });

  function socketWhereNone() {
    if (typeof RealtimeSocket === "undefined") return;
    if (RealtimeSocket.opened && RealtimeSocket.opened.size) return; // the page's own serves
    const own = new RealtimeSocket({
      onState: (state) => typeof showState === "function" && showState(state),
    });
    own.connect();
    window.addEventListener("online", () => own.connect());
  }

  // Page scripts open their sockets as they run: look once they all have.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", socketWhereNone);
  else socketWhereNone();
})();
