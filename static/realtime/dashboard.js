// The dashboard: every asset row and portfolio card subscribes; updates fill them in.
"use strict";

const money = (value, digits = 2) =>
  value === null || value === undefined
    ? "–"
    : Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
const signed = (value, digits = 2) => (value > 0 ? "+" : "") + money(value, digits);

function setField(root, name, text, direction) {
  const cell = root.querySelector(`[data-field="${name}"]`);
  if (!cell) return;
  cell.textContent = text;
  if (direction !== undefined) {
    cell.classList.toggle("up", direction > 0);
    cell.classList.toggle("down", direction < 0);
  }
}

function flash(row) {
  row.classList.remove("flash");
  void row.offsetWidth; // restart the animation
  row.classList.add("flash");
}

function assetUpdate(data) {
  const row = document.querySelector(`tr[data-symbol="${CSS.escape(data.symbol)}"]`);
  if (!row) return;
  const digits = data.price !== null && data.price < 10 ? 4 : 2;
  setField(row, "price", money(data.price, digits));
  setField(row, "change", data.change === null ? "–" : signed(data.change, digits), data.change);
  setField(row, "change_percent", data.change_percent === null ? "–" : signed(data.change_percent) + "%", data.change);
  setField(row, "high", money(data.high, digits));
  setField(row, "low", money(data.low, digits));
  setField(row, "source", data.source || "");
  setField(row, "quote_time", data.quote_time ? new Date(data.quote_time).toLocaleTimeString() : "");
  row.classList.toggle("stale", Boolean(data.stale));
  row.title = data.stale ? `stale: ${data.stale_reason || "no fresh quote"}` : "";
  flash(row);
}

function portfolioUpdate(data) {
  const card = document.querySelector(`[data-portfolio-id="${data.portfolio_id}"]`);
  if (!card) return;
  setField(card, "total_value", money(data.total_value));
  const percent = data.daily_change_percent === null ? "" : ` (${signed(data.daily_change_percent)}%)`;
  setField(card, "daily_change", `${signed(data.daily_change)}${percent} today`, data.daily_change);
  setField(card, "unrealised_gain", signed(data.unrealised_gain), data.unrealised_gain);
  const flags = [];
  if (!data.complete) flags.push(`incomplete: ${data.missing.join("; ")}`);
  if (data.stale) flags.push("some prices are stale");
  setField(card, "flags", flags.join(" · "));
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
