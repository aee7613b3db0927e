// The dashboard: subscribes to the rows on the page (the watchlist and the symbols held, or
// the public market list) and the portfolio cards; updates fill them in. A value the server
// does not know arrives as null with its reason: it is shown as "—" with that reason, never
// as 0 or NaN; a value flagged stale is shown as stale, with why. Colour is never the only
// signal: a sign and an arrow go with every change. Signed in, each row has a sparkline of
// today's prices, extended by each update, and opens a larger chart (static/charts/).
"use strict";

(() => {
  const UNKNOWN = "\u2014"; // an em dash
  const byId = (id) => document.getElementById(id);
  const known = (value) => value !== null && value !== undefined && Number.isFinite(Number(value));

  // --- numbers -------------------------------------------------------------------------------

  const formats = new Map();
  function numberFormat(options) {
    const key = JSON.stringify(options);
    if (!formats.has(key)) {
      try {
        formats.set(key, new Intl.NumberFormat(undefined, options));
      } catch {
        // An unknown currency code: the number without it beats no number.
        const { style, currency, currencyDisplay, ...plain } = options;
        formats.set(key, new Intl.NumberFormat(undefined, plain));
      }
    }
    return formats.get(key);
  }

  // Decimals per asset type: FX rates 5 below 10 (EURUSD moves in the fifth), else 3 (USDJPY);
  // crypto up to 8 significant digits; stocks, funds and indices 2 (4 below 1).
  function digits(assetType, price) {
    const size = known(price) ? Math.abs(Number(price)) : 0;
    if (assetType === "fx") {
      const d = size < 10 ? 5 : 3;
      return { minimumFractionDigits: d, maximumFractionDigits: d };
    }
    if (assetType === "crypto") {
      if (size > 0 && size < 1) return { maximumSignificantDigits: 8 };
      const whole = size >= 1 ? Math.floor(Math.log10(size)) + 1 : 1;
      return {
        minimumFractionDigits: 2,
        maximumFractionDigits: Math.min(8, Math.max(2, 8 - whole)),
      };
    }
    const d = size > 0 && size < 1 ? 4 : 2;
    return { minimumFractionDigits: d, maximumFractionDigits: d };
  }

  // A rate or index level is not an amount of money: no currency sign on those.
  const isMoney = (assetType) => assetType !== "fx" && assetType !== "index";

  function amount(
    value,
    { currency, assetType = "stock", reference = value, signed = false } = {},
  ) {
    if (!known(value)) return UNKNOWN;
    const options = { ...digits(assetType, reference) };
    if (currency && isMoney(assetType)) Object.assign(options, { style: "currency", currency });
    if (signed) options.signDisplay = "exceptZero";
    return numberFormat(options).format(Number(value));
  }

  const PERCENT = { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" };
  const percent = (value) =>
    known(value) ? `${numberFormat(PERCENT).format(Number(value))}%` : UNKNOWN;
  const volume = (value) =>
    known(value)
      ? numberFormat({ notation: "compact", maximumFractionDigits: 1 }).format(Number(value))
      : UNKNOWN;
  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");
  const direction = (value) => (known(value) ? Math.sign(Number(value)) : 0);

  // --- cells -----------------------------------------------------------------------------------

  function cell(root, name) {
    return root.querySelector(`[data-field="${name}"]`);
  }

  // Writes a cell; `why` (shown on hover) says why a value is unknown or stale, "" clears it.
  function setField(root, name, text, why) {
    const target = cell(root, name);
    if (!target) return;
    if (target.textContent !== text) target.textContent = text;
    if (why !== undefined) target.title = why;
  }

  // A change: an arrow (hidden from screen readers, the sign says it) and the colour class.
  function setChange(root, name, text, value, why) {
    const target = cell(root, name);
    if (!target) return;
    const sign = direction(value);
    const arrow = document.createElement("span");
    arrow.className = "arrow";
    arrow.setAttribute("aria-hidden", "true");
    arrow.textContent = sign > 0 ? "\u25b2 " : sign < 0 ? "\u25bc " : "";
    target.replaceChildren(arrow, text);
    target.classList.toggle("up", sign > 0);
    target.classList.toggle("down", sign < 0);
    target.title = why || "";
  }

  function flash(element, sign) {
    element.classList.remove("flash-up", "flash-down", "flash");
    void element.offsetWidth; // restart the animation
    element.classList.add(sign > 0 ? "flash-up" : sign < 0 ? "flash-down" : "flash");
  }

  // --- the feed line: connection, source, last update -------------------------------------------

  const feed = {
    word: byId("feed-word"),
    line: byId("feed-connection"),
    retry: byId("feed-retry"),
    source: byId("feed-source"),
    simulated: byId("feed-simulated"),
    updated: byId("feed-updated"),
    sources: new Map(), // symbol -> source of its latest price
    state: "connecting",
    retryAt: null,
    countdown: null,
  };

  const STATE_WORDS = {
    connecting: "Connecting\u2026",
    live: "Live",
    reconnecting: "Reconnecting",
    closed: "Offline",
  };

  function stateShow(state, detail = {}) {
    const word = state.split(":")[0];
    const reconnectingNow = word === "connecting" && feed.state === "reconnecting";
    if (!reconnectingNow) feed.state = word;
    feed.retryAt = word === "reconnecting" ? detail.retryAt : null;
    let text = STATE_WORDS[word] || word;
    if (word === "closed")
      text = detail.byClient ? "Offline" : `Offline: ${state.split(": ")[1] || "closed"}`;
    if (word === "reconnecting" && !navigator.onLine) text = "Offline, reconnecting";
    if (!reconnectingNow && feed.word.textContent !== text) feed.word.textContent = text;
    feed.line.dataset.state = feed.state;
    showState(reconnectingNow ? "reconnecting" : word); // the header badge
    clearInterval(feed.countdown);
    feed.countdown = word === "reconnecting" ? setInterval(retryShow, 250) : null;
    retryShow(reconnectingNow);
  }

  function retryShow(tryingNow = false) {
    let text = "";
    if (tryingNow) text = "trying now\u2026";
    else if (feed.retryAt)
      text = `in ${Math.max(1, Math.ceil((feed.retryAt - Date.now()) / 1000))} s`;
    if (feed.retry.textContent !== text) feed.retry.textContent = text;
  }

  function feedUpdated(symbol, source) {
    const now = new Date();
    feed.updated.textContent = now.toLocaleTimeString();
    feed.updated.dateTime = now.toISOString();
    if (symbol === undefined) return;
    if (source) feed.sources.set(symbol, source);
    else feed.sources.delete(symbol);
    sourcesShow();
  }

  function sourcesShow() {
    const names = [...new Set(feed.sources.values())].sort();
    const text = names.length ? names.join(", ") : UNKNOWN;
    if (feed.source.textContent !== text) feed.source.textContent = text;
    feed.simulated.hidden = !names.includes("simulated");
  }

  // --- asset rows ------------------------------------------------------------------------------

  const latest = new Map(); // symbol -> the latest asset_update data
  const MARKET_STATES = { open: "Open", closed: "Closed", pre: "Pre-market", post: "After hours" };

  const rowOf = (symbol) => document.querySelector(`tr[data-symbol="${CSS.escape(symbol)}"]`);

  function assetUpdate(data) {
    const before = latest.get(data.symbol);
    latest.set(data.symbol, data);
    feedUpdated(data.symbol, data.source);
    if (charts) charts.tick(data.symbol, data.price, data.quote_time);
    const row = rowOf(data.symbol);
    if (!row) return;
    rowRender(row, data);
    if (
      before &&
      known(before.price) &&
      known(data.price) &&
      Number(before.price) !== Number(data.price)
    ) {
      flash(cell(row, "price"), Math.sign(Number(data.price) - Number(before.price)));
    }
  }

  function rowRender(row, data) {
    const assetType = row.dataset.assetType;
    const currency = data.currency || row.dataset.currency;
    const format = { currency, assetType, reference: data.price };
    const noPrevious = known(data.change) ? "" : "no previous close";
    const quoted = data.quote_time ? `quoted ${clock(data.quote_time)}` : "";
    setField(row, "price", amount(data.price, format), known(data.price) ? quoted : "no price yet");
    setChange(
      row,
      "change",
      amount(data.change, { ...format, signed: true }),
      data.change,
      noPrevious,
    );
    setChange(row, "change_percent", percent(data.change_percent), data.change, noPrevious);
    const plain = { assetType, reference: data.price };
    const range =
      known(data.low) && known(data.high)
        ? `${amount(data.low, plain)} \u2013 ${amount(data.high, plain)}`
        : UNKNOWN;
    setField(row, "range", range, known(data.low) ? "" : "no day range yet");
    setField(
      row,
      "volume",
      volume(data.volume),
      known(data.volume) ? Number(data.volume).toLocaleString() : "no volume reported",
    );
    const state = MARKET_STATES[data.market_state] || UNKNOWN;
    setField(
      row,
      "market_state",
      data.stale ? `${state} \u00b7 stale` : state,
      data.stale ? `stale: ${data.stale_reason || "no fresh quote"}` : "",
    );
    setField(row, "source", data.source || UNKNOWN);
    row.classList.toggle("stale", Boolean(data.stale));
    row.classList.remove("not-live");
    row.title = data.stale ? `stale: ${data.stale_reason || "no fresh quote"}` : "";
  }

  // A row the server would not subscribe: says so; no number unless one came before (it
  // keeps its quote time on hover), the reason instead.
  function rowNotLive(symbol, why) {
    const row = rowOf(symbol);
    if (!row) return;
    if (!latest.has(symbol)) setField(row, "price", UNKNOWN, why);
    setField(row, "market_state", `not live: ${why}`, why);
    row.classList.add("not-live");
  }

  // --- portfolio cards -------------------------------------------------------------------------

  function flag(kind, text) {
    const item = document.createElement("span");
    item.className = `flag flag-${kind}`;
    item.textContent = text;
    return item;
  }

  const totals = new Map(); // portfolio id -> the latest total_value

  function portfolioUpdate(data) {
    const card = document.querySelector(`[data-portfolio-id="${data.portfolio_id}"]`);
    feedUpdated();
    if (!card) return;
    const currency = data.currency || card.dataset.currency;
    const money = { currency, assetType: "stock", reference: 10 }; // always 2 decimals
    const missing = (data.missing || []).join("; ");
    const why = missing || "not known yet";
    const valueKnown = known(data.total_value);
    setField(card, "total_value", amount(data.total_value, money), valueKnown ? "" : why);
    const share = known(data.daily_change_percent)
      ? ` (${percent(data.daily_change_percent)})`
      : "";
    setChange(
      card,
      "daily_change",
      `${amount(data.daily_change, { ...money, signed: true })}${share} today`,
      data.daily_change,
      known(data.daily_change) ? "" : why,
    );
    setChange(
      card,
      "unrealised_gain",
      amount(data.unrealised_gain, { ...money, signed: true }),
      data.unrealised_gain,
      known(data.unrealised_gain) ? "" : why,
    );
    const flags = [];
    if (!valueKnown) flags.push(flag("unknown", `value unknown: ${why}`));
    else if (!data.complete) flags.push(flag("incomplete", `incomplete: ${missing}`));
    if (data.stale)
      flags.push(flag("stale", `stale: ${data.stale_reason || "prices are not current"}`));
    const box = cell(card, "flags");
    if (box) box.replaceChildren(...flags);
    setField(card, "as_of", data.as_of ? `as of ${clock(data.as_of)}` : "");
    card.classList.toggle("stale", Boolean(data.stale));
    card.classList.toggle("unknown", !valueKnown);
    const before = totals.get(data.portfolio_id);
    totals.set(data.portfolio_id, data.total_value);
    if (
      before !== undefined &&
      known(before) &&
      known(data.total_value) &&
      before !== data.total_value
    ) {
      flash(cell(card, "total_value"), Math.sign(Number(data.total_value) - Number(before)));
    }
  }

  // --- the socket ------------------------------------------------------------------------------

  // Symbols just added: the server may not know a new one for a few seconds (its symbol list
  // is re-read at most every 5 s), so `unknown_symbol` for one of them is tried again.
  const justAdded = new Map(); // symbol -> tries left
  const REFUSALS = {
    unknown_symbol: "unknown symbol",
    subscription_limit: "too many symbols on one page",
    unavailable: "server busy, retrying",
  };

  function subscribeReply(key, message) {
    if (!key.startsWith("asset:")) return;
    const symbol = key.slice("asset:".length);
    if (message.type !== "error") return;
    const code = message.data && message.data.code;
    const tries = justAdded.get(symbol) || 0;
    if (code === "unknown_symbol" && tries > 0) {
      justAdded.set(symbol, tries - 1);
      realtime.resendLater(key, 6000);
      return;
    }
    rowNotLive(symbol, REFUSALS[code] || (message.data && message.data.message) || code);
  }

  // A socket back after a drop: the sparklines missed the prices of the gap, read them again.
  let wasLive = false;
  function stateChanged(state, detail) {
    stateShow(state, detail);
    if (state !== "live") return;
    if (wasLive && charts) charts.reload();
    wasLive = true;
  }

  const realtime = new RealtimeSocket({
    onState: stateChanged,
    onReply: subscribeReply,
    onMessage(message) {
      if (message.type === "asset_update") assetUpdate(message.data);
      else if (message.type === "portfolio_update") portfolioUpdate(message.data);
      else if (message.type === "history_ready" && charts) charts.historyReady(message.data);
      else if (message.type === "error") console.warn("realtime:", message.data);
    },
  });

  const assetKey = (symbol) => `asset:${symbol}`;
  const watchAsset = (symbol) => {
    if (!realtime.kept(assetKey(symbol)))
      realtime.keep(assetKey(symbol), "subscribe_asset", { symbol });
  };
  const unwatchAsset = (symbol) => {
    latest.delete(symbol);
    feed.sources.delete(symbol);
    sourcesShow();
    realtime.drop(assetKey(symbol), "unsubscribe_asset", { symbol });
  };

  // --- watchlist changes -----------------------------------------------------------------------

  const section = byId("watchlist");
  const watchRows = byId("watch-rows");
  const heldRows = byId("held-rows");
  const addForm = byId("watchlist-add");
  const problem = byId("watchlist-problem");
  const status = byId("watchlist-status");

  // --- charts: a sparkline per row, a chart under an opened row (signed in only) ---------------

  // A value of `symbol` written as its row writes its price.
  const formatFor = (symbol) => (value) => {
    const row = rowOf(symbol);
    const data = latest.get(symbol);
    return amount(value, {
      currency: (data && data.currency) || (row && row.dataset.currency),
      assetType: (row && row.dataset.assetType) || "stock",
      reference: value,
    });
  };
  const charts =
    section && section.dataset.sparklinesUrl && typeof AssetCharts !== "undefined"
      ? AssetCharts.start({
          root: document.querySelector("main"),
          urls: {
            sparklines: section.dataset.sparklinesUrl,
            series: section.dataset.seriesUrl,
            alert: section.dataset.alertUrl,
          },
          max: Number(section.dataset.ringPoints) || 120,
          formatFor,
        })
      : null;

  function say(text) {
    if (status) status.textContent = text;
  }

  function problemShow(text) {
    if (!problem) return;
    problem.textContent = text;
    const input = byId("watchlist-symbol");
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function emptiesShow() {
    // Quote rows only: an opened chart is a row of its own.
    const quotes = (body) => body.querySelectorAll("tr[data-symbol]").length;
    byId("watchlist-empty").hidden = quotes(watchRows) > 0;
    if (heldRows) byId("held").hidden = quotes(heldRows) === 0;
  }

  // A row for `item` ({symbol, name, asset_type, currency}) from one of the page's templates.
  function rowBuild(kind, item) {
    const row = byId(`${kind}-row-template`).content.firstElementChild.cloneNode(true);
    row.dataset.symbol = item.symbol;
    row.dataset.assetType = item.asset_type;
    row.dataset.currency = item.currency;
    row.querySelectorAll('[data-field="symbol"]').forEach((el) => (el.textContent = item.symbol));
    setField(row, "name", item.name || "");
    const url = (pattern) => pattern.replace("SYMBOL", encodeURIComponent(item.symbol));
    for (const form of row.querySelectorAll("form[data-action]")) {
      if (form.dataset.action === "move") form.action = url(section.dataset.moveUrl);
      if (form.dataset.action === "remove") form.action = url(section.dataset.removeUrl);
    }
    const hidden = row.querySelector('input[name="symbol"]');
    if (hidden) hidden.value = item.symbol;
    if (latest.has(item.symbol)) rowRender(row, latest.get(item.symbol));
    return row;
  }

  const itemOf = (row) => ({
    symbol: row.dataset.symbol,
    asset_type: row.dataset.assetType,
    currency: row.dataset.currency,
    name: cell(row, "name").textContent,
  });

  function added(item) {
    const held = rowOf(item.symbol);
    if (held) held.remove(); // it moves up from "also in your portfolios"
    watchRows.append(rowBuild("watch", item));
    justAdded.set(item.symbol, 3);
    watchAsset(item.symbol);
    emptiesShow();
    if (charts) {
      charts.follow();
      charts.load();
    }
    say(`${item.symbol} added to your watchlist.`);
  }

  function removed(row, stillHeld) {
    const item = itemOf(row);
    const beside = (step) => {
      let other = row[step];
      while (other && !other.dataset.symbol) other = other[step]; // past an opened chart
      return other;
    };
    const next = beside("nextElementSibling") || beside("previousElementSibling");
    row.remove();
    if (stillHeld && heldRows) heldRows.append(rowBuild("held", item));
    else unwatchAsset(item.symbol);
    emptiesShow();
    if (charts) charts.follow();
    const focus = next ? next.querySelector("button.remove") : byId("watchlist-symbol");
    if (focus) focus.focus();
    say(`${item.symbol} removed from your watchlist.`);
  }

  function reordered(order, symbol, pressed) {
    for (const each of order) {
      const row = rowOf(each);
      if (row && row.parentElement === watchRows) watchRows.append(row);
    }
    if (charts) charts.follow();
    // Moving a row takes the focus from its button: give it back.
    const again = rowOf(symbol)?.querySelector(`button[value="${pressed.value}"]`);
    if (again) again.focus();
    say(`${symbol} moved ${pressed.value}.`);
  }

  async function post(form, body) {
    const response = await fetch(form.action, {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      answer = {};
    }
    return { response, body: answer };
  }

  const problemOf = (body, fallback) => (body.error && body.error.message) || fallback;

  const busy = new WeakSet(); // forms whose post is on its way

  async function submitted(event) {
    const form = event.target.closest("form");
    if (!form || !(form === addForm || form.matches(".row-action"))) return;
    event.preventDefault();
    const action = form === addForm ? "add" : form.dataset.action;
    const symbolInput = form.querySelector('input[name="symbol"]');
    if (action === "add") {
      symbolInput.value = symbolInput.value.trim().toUpperCase();
      if (form === addForm && !symbolInput.value) {
        problemShow("Enter a symbol, such as AAPL or BTC-USD.");
        symbolInput.focus();
        return;
      }
    }
    // Busy, not disabled: a disabled button loses the keyboard focus.
    if (busy.has(form)) return;
    busy.add(form);
    form.setAttribute("aria-busy", "true");
    const data = new FormData(form, event.submitter);
    if (action === "add") say(`Checking ${symbolInput.value}\u2026`);
    try {
      const { response, body } = await post(form, data);
      const row = form.closest("tr");
      if (response.ok) {
        if (form === addForm) {
          problemShow("");
          symbolInput.value = "";
        }
        if (action === "add") added(body.added);
        else if (action === "remove") removed(row, body.held);
        else reordered(body.order, row.dataset.symbol, event.submitter);
      } else if (response.status === 404 && row) {
        removed(row, false); // gone already (another tab): the page catches up
      } else {
        const text = problemOf(body, `Could not change the watchlist (HTTP ${response.status}).`);
        say("");
        problemShow(text);
        if (form === addForm) symbolInput.focus();
      }
    } catch {
      say("");
      problemShow("Could not reach the server: try again in a moment.");
    } finally {
      busy.delete(form);
      form.removeAttribute("aria-busy");
    }
  }

  if (section && addForm) {
    section.addEventListener("submit", submitted);
    byId("held")?.addEventListener("submit", submitted);
    byId("watchlist-symbol").addEventListener("input", () => problemShow(""));
  }

  // --- start -----------------------------------------------------------------------------------

  // The header badge stays a picture of the state; the feed line is what is announced.
  const badge = byId("connection-state");
  if (badge) badge.setAttribute("aria-live", "off");
  window.addEventListener("online", () => realtime.connect()); // no need to wait out a countdown

  realtime.keep("batching", "set_batching", { enabled: true });
  document.querySelectorAll("tr[data-symbol]").forEach((row) => watchAsset(row.dataset.symbol));
  document.querySelectorAll("[data-portfolio-id]").forEach((card) =>
    realtime.keep(`portfolio:${card.dataset.portfolioId}`, "subscribe_portfolio", {
      portfolio_id: Number(card.dataset.portfolioId),
    }),
  );
  realtime.connect();
  if (charts) charts.load();
})();
