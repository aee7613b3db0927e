// How the portfolio pages write figures: grouped numbers, signs, ages. A figure the server
// does not know arrives as null with its reason: it is written "—" with that reason (shown
// on hover and kept in the cell's title), never 0 or NaN.
"use strict";

const Figures = (() => {
  const UNKNOWN = "\u2014"; // an em dash

  const known = (value) =>
    value !== null && value !== undefined && value !== "" && Number.isFinite(Number(value));

  const number = (value, digits = 2) =>
    known(value)
      ? Number(value).toLocaleString("en-US", {
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        })
      : UNKNOWN;

  const signed = (value, digits = 2) => (known(value) && Number(value) > 0 ? "+" : "") + number(value, digits);

  // A price: 4 decimals below 10 (FX rates, pennies), else 2.
  const price = (value) => number(value, known(value) && Number(value) < 10 ? 4 : 2);

  // A quantity as typed: every decimal it has, none it has not (0.25, 1,000, 0.00012).
  const quantity = (value) =>
    known(value) ? Number(value).toLocaleString("en-US", { maximumFractionDigits: 10 }) : UNKNOWN;

  // "+1.20 (+0.85%)", or "—" when the change is unknown.
  const change = (value, percent) =>
    known(value) ? `${signed(value)}${known(percent) ? ` (${signed(percent)}%)` : ""}` : UNKNOWN;

  // How long ago an ISO time was: "12 s", "3 min", "2 h", "4 d".
  function age(iso, now = Date.now()) {
    const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    if (!Number.isFinite(seconds)) return "";
    if (seconds < 90) return `${seconds} s`;
    if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
    if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
    return `${Math.round(seconds / 86400)} d`;
  }

  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString("en-GB") : "");

  // Writes a cell's text; `why` says why it is unknown ("" clears it); `direction` colours it.
  function set(root, name, text, { why, direction } = {}) {
    const cell = root.querySelector(`[data-field="${name}"]`);
    if (!cell) return null;
    cell.textContent = text;
    if (why !== undefined) {
      if (why) cell.title = why;
      else cell.removeAttribute("title");
      cell.classList.toggle("unknown", Boolean(why));
    }
    if (direction !== undefined) {
      cell.classList.toggle("up", known(direction) && Number(direction) > 0);
      cell.classList.toggle("down", known(direction) && Number(direction) < 0);
    }
    return cell;
  }

  function flash(element) {
    element.classList.remove("flash");
    void element.offsetWidth; // restart the animation
    element.classList.add("flash");
  }

  return { UNKNOWN, known, number, signed, price, quantity, change, age, clock, set, flash };
})();
