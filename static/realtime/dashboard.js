// The dashboard: every asset row and portfolio card subscribes; updates fill them in.
// A value the server does not know arrives as null with its reason: it is shown as "—" with
// that reason, never as 0 or NaN; a value flagged stale is shown as stale, with why.
"use strict";

const UNKNOWN = "\u2014"; // an em dash

const known = (value) => value !== null && value !== undefined && Number.isFinite(Number(value));
const money = (value, digits = 2) =>
  known(value)
    ? Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : UNKNOWN;
const signed = (value, digits = 2) => (known(value) && value > 0 ? "+" : "") + money(value, digits);

// Writes a cell; `why` (shown on hover) says why a value is unknown or stale, "" clears it.
function setField(root, name, text, direction, why) {
  const cell = root.querySelector(`[data-field="${name}"]`);
  if (!cell) return;
  cell.textContent = text;
  if (direction !== undefined) {
    cell.classList.toggle("up", known(direction) && direction > 0);
    cell.classList.toggle("down", known(direction) && direction < 0);
  }
  if (why !== undefined) cell.title = why;
}

function flash(row) {
  row.classList.remove("flash");
  void row.offsetWidth; // restart the animation
  row.classList.add("flash");
}

function assetUpdate(data) {
  const row = document.querySelector(`tr[data-symbol="${CSS.escape(data.symbol)}"]`);
  if (!row) return;
  const digits = known(data.price) && data.price < 10 ? 4 : 2;
  const noPrevious = known(data.change) ? "" : "no previous close";
  setField(row, "price", money(data.price, digits), undefined, known(data.price) ? "" : "no price yet");
  setField(row, "change", signed(data.change, digits), data.change, noPrevious);
  const percent = known(data.change_percent) ? signed(data.change_percent) + "%" : UNKNOWN;
  setField(row, "change_percent", percent, data.change, noPrevious);
  setField(row, "high", money(data.high, digits));
  setField(row, "low", money(data.low, digits));
  setField(row, "source", data.source || "");
  setField(row, "quote_time", data.quote_time ? new Date(data.quote_time).toLocaleTimeString() : "");
  row.classList.toggle("stale", Boolean(data.stale));
  row.title = data.stale ? `stale: ${data.stale_reason || "no fresh quote"}` : "";
  flash(row);
}

function flag(kind, text) {
  const item = document.createElement("span");
  item.className = `flag flag-${kind}`;
  item.textContent = text;
  return item;
}

function portfolioUpdate(data) {
  const card = document.querySelector(`[data-portfolio-id="${data.portfolio_id}"]`);
  if (!card) return;
  const missing = (data.missing || []).join("; ");
  const why = missing || "not known yet";
  const valueKnown = known(data.total_value);
  setField(card, "total_value", money(data.total_value), undefined, valueKnown ? "" : why);
  const percent = known(data.daily_change_percent) ? ` (${signed(data.daily_change_percent)}%)` : "";
  setField(card, "daily_change", `${signed(data.daily_change)}${percent} today`, data.daily_change,
    known(data.daily_change) ? "" : why);
  setField(card, "unrealised_gain", signed(data.unrealised_gain), data.unrealised_gain,
    known(data.unrealised_gain) ? "" : why);
  const flags = [];
  if (!valueKnown) flags.push(flag("unknown", `value unknown: ${why}`));
  else if (!data.complete) flags.push(flag("incomplete", `incomplete: ${missing}`));
  if (data.stale) flags.push(flag("stale", `stale: ${data.stale_reason || "prices are not current"}`));
  const box = card.querySelector('[data-field="flags"]');
  if (box) box.replaceChildren(...flags);
  setField(card, "as_of", data.as_of ? `as of ${new Date(data.as_of).toLocaleTimeString()}` : "");
  card.classList.toggle("stale", Boolean(data.stale));
  card.classList.toggle("unknown", !valueKnown);
  flash(card);
}

const realtime = new RealtimeSocket({
  onState: showState,
  onMessage(message) {
    if (message.type === "asset_update") assetUpdate(message.data);
    else if (message.type === "portfolio_update") portfolioUpdate(message.data);
    else if (message.type === "error") console.warn("realtime:", message.data);
  },
});

realtime.keep("batching", "set_batching", { enabled: true });
document.querySelectorAll("tr[data-symbol]").forEach((row) =>
  realtime.keep(`asset:${row.dataset.symbol}`, "subscribe_asset", { symbol: row.dataset.symbol }),
);
document.querySelectorAll("[data-portfolio-id]").forEach((card) =>
  realtime.keep(`portfolio:${card.dataset.portfolioId}`, "subscribe_portfolio", {
    portfolio_id: Number(card.dataset.portfolioId),
  }),
);
realtime.connect();
