// The portfolios list: each card's totals from the server's first render, then live from
// its `portfolio_update`. Unknown figures are "—" with the reason, never 0 or NaN.
"use strict";

(() => {
  const cards = new Map(
    [...document.querySelectorAll(".pf-card[data-portfolio-id]")].map((card) => [
      Number(card.dataset.portfolioId),
      card,
    ]),
  );
  const shown = new Map(); // portfolio id -> the data on screen

  function render(data) {
    const card = cards.get(data.portfolio_id);
    if (!card) return;
    const before = shown.get(data.portfolio_id);
    // Never step back: a cached snapshot older than what is shown is not news.
    if (before && before.as_of && Date.parse(data.as_of) < Date.parse(before.as_of)) return;
    shown.set(data.portfolio_id, data);
    const missing = (data.missing || []).join("; ");
    const why = (value) => (Figures.known(value) ? "" : missing || "not known yet");
    Figures.set(card, "name", data.name);
    Figures.set(card, "total_value", Figures.number(data.total_value), { why: why(data.total_value) });
    Figures.set(card, "daily_change", `${Figures.change(data.daily_change, data.daily_change_percent)} today`, {
      why: why(data.daily_change),
      direction: data.daily_change,
    });
    Figures.set(card, "unrealised_gain", Figures.signed(data.unrealised_gain), {
      why: why(data.unrealised_gain),
      direction: data.unrealised_gain,
    });
    const complete = Boolean(data.complete) && Figures.known(data.total_value);
    const incomplete = Figures.set(
      card,
      "incomplete",
      Figures.known(data.total_value) ? `Incomplete: ${missing}` : `Value unknown: ${missing || "no price yet"}`,
    );
    incomplete.hidden = complete;
    const stale = Figures.set(card, "stale", `stale: ${data.stale_reason || "prices are not current"}`);
    stale.hidden = !data.stale;
    Figures.set(card, "positions", `${data.positions} position${data.positions === 1 ? "" : "s"}`);
    Figures.set(card, "as_of", data.as_of ? `as of ${Figures.clock(data.as_of)}` : "");
    card.classList.toggle("stale", Boolean(data.stale));
    if (before) Figures.flash(card);
  }

  JSON.parse(document.getElementById("portfolios-initial").textContent).forEach(render);
  const realtime = new RealtimeSocket({
    onState: (state) => typeof showState === "function" && showState(state),
    onMessage(message) {
      if (message.type === "portfolio_update") render(message.data);
    },
  });
  for (const id of cards.keys()) {
    realtime.keep(`portfolio:${id}`, "subscribe_portfolio", { portfolio_id: id });
  }
  realtime.connect();
})();
