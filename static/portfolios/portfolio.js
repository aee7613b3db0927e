// One portfolio's page: totals and every position, from the server's first render, then
// from each `portfolio_update` over the socket. Rows sort by a click on a column header and
// stay sorted as values move. An unknown figure is "—" with its reason, never 0 or NaN; a
// stale price is marked on its row with its age; an incomplete total says what is missing.
// Charts (static/charts/): the value today and over time, and a sparkline per position,
// extended by the prices each update carries; a position opened shows its larger chart.
"use strict";

(() => {
  const root = document.getElementById("portfolio");
  if (!root) return;
  const summary = document.getElementById("portfolio-summary");
  const portfolioId = Number(root.dataset.portfolioId);
  const key = `portfolio:${portfolioId}`;
  const table = document.getElementById("holdings");
  const body = table.tBodies[0];
  const rowShape = document.getElementById("holding-row");
  const TEXT_KEYS = new Set(["symbol", "name"]);
  let current = JSON.parse(document.getElementById("portfolio-initial").textContent);
  let sort = { key: "symbol", descending: false };

  // --- charts ----------------------------------------------------------------------------------

  const urls = root.dataset;
  const money = (value) => `${Figures.number(value)} ${root.dataset.currency}`;
  // A position's price, in its own currency, as its row writes it.
  const priceOf = (symbol) => (value) => {
    const row = body.querySelector(`tr[data-symbol="${CSS.escape(symbol)}"]`);
    const currency = row && row.holding ? ` ${row.holding.currency}` : "";
    return `${Figures.price(value)}${currency}`;
  };
  const charts =
    urls.sparklinesUrl && typeof AssetCharts !== "undefined"
      ? AssetCharts.start({
          root: body,
          urls: { sparklines: urls.sparklinesUrl, series: urls.seriesUrl, alert: urls.alertUrl },
          max: Number(urls.ringPoints) || 120,
          formatFor: priceOf,
        })
      : null;
  const valueCharts =
    urls.valueSeriesUrl && typeof PortfolioCharts !== "undefined"
      ? PortfolioCharts.start({
          name: current.name || "Portfolio",
          today: document.getElementById("value-today"),
          performance: document.getElementById("performance"),
          controls: document.getElementById("performance-controls"),
          url: urls.valueSeriesUrl,
          format: money,
          signed: (value) => `${Figures.signed(value)} ${root.dataset.currency}`,
          max: Number(urls.valuePoints) || 2880,
        })
      : null;

  const positionUrl = (which, positionId) =>
    root.dataset[`${which}Url`].replace(/\/0\/(edit|delete)\/$/, `/${positionId}/$1/`);

  // What is missing, by position where the update lists positions, else as the server says.
  function missingText(data) {
    const holdings = Array.isArray(data.holdings) ? data.holdings : [];
    const named = holdings.filter((h) => h.missing && h.missing.length);
    if (named.length) return named.map((h) => `${h.symbol}: ${h.missing.join(", ")}`).join("; ");
    return (data.missing || []).join("; ");
  }

  function totalsRender(data) {
    const missing = missingText(data);
    const why = (value) => (Figures.known(value) ? "" : missing || "not known yet");
    Figures.set(summary, "name", data.name);
    Figures.set(summary, "total_value", Figures.number(data.total_value), { why: why(data.total_value) });
    Figures.set(summary, "daily_change", Figures.change(data.daily_change, data.daily_change_percent), {
      why: why(data.daily_change),
      direction: data.daily_change,
    });
    Figures.set(summary, "unrealised_gain", Figures.signed(data.unrealised_gain), {
      why: why(data.unrealised_gain),
      direction: data.unrealised_gain,
    });
    Figures.set(summary, "cost_basis", Figures.number(data.cost_basis), { why: why(data.cost_basis) });
    const incomplete = Figures.set(
      summary,
      "incomplete",
      Figures.known(data.total_value) ? `Incomplete: ${missing}` : `Value unknown: ${missing || "no price yet"}`,
    );
    incomplete.hidden = Boolean(data.complete) && Figures.known(data.total_value);
    const stale = Figures.set(summary, "stale", `stale: ${data.stale_reason || "prices are not current"}`);
    stale.hidden = !data.stale;
    Figures.set(summary, "as_of", data.as_of ? `as of ${Figures.clock(data.as_of)}` : "");
    summary.classList.toggle("stale", Boolean(data.stale));
  }

  function rowFor(holding) {
    let row = body.querySelector(`tr[data-symbol="${CSS.escape(holding.symbol)}"]`);
    if (!row) {
      row = rowShape.content.firstElementChild.cloneNode(true);
      row.dataset.symbol = holding.symbol;
      row.querySelectorAll('[data-field="symbol"]').forEach((el) => (el.textContent = holding.symbol));
      body.append(row);
    }
    if (row.dataset.positionId !== String(holding.position_id)) {
      row.dataset.positionId = holding.position_id;
      row.querySelector('[data-link="edit"]').href = positionUrl("edit", holding.position_id);
      row.querySelector('[data-link="delete"]').href = positionUrl("delete", holding.position_id);
    }
    return row;
  }

  function staleMark(row) {
    const holding = row.holding;
    const badge = row.querySelector('[data-field="stale"]');
    badge.hidden = !holding.stale;
    if (!holding.stale) return;
    badge.textContent = holding.quote_time ? `stale · ${Figures.age(holding.quote_time)} old` : "stale";
    badge.title = holding.stale_reason || "the price is not current";
  }

  function rowRender(holding) {
    const row = rowFor(holding);
    const changed = row.holding && row.holding.value !== holding.value;
    row.holding = holding;
    const why = (holding.missing || []).join("; ");
    const reason = (value) => (Figures.known(value) ? "" : why || "not known yet");
    Figures.set(row, "symbol", holding.symbol);
    Figures.set(row, "name", holding.name || "");
    Figures.set(row, "why", why);
    Figures.set(row, "quantity", Figures.quantity(holding.quantity));
    Figures.set(row, "price", Figures.price(holding.price), { why: reason(holding.price) });
    Figures.set(row, "currency", holding.currency);
    Figures.set(row, "value", Figures.number(holding.value), { why: reason(holding.value) });
    Figures.set(row, "daily_change", Figures.change(holding.daily_change, holding.daily_change_percent), {
      why: reason(holding.daily_change),
      direction: holding.daily_change,
    });
    Figures.set(row, "unrealised_gain", Figures.signed(holding.unrealised_gain), {
      why: reason(holding.unrealised_gain),
      direction: holding.unrealised_gain,
    });
    const weight = Figures.known(holding.weight) ? `${Figures.number(holding.weight, 1)}%` : Figures.UNKNOWN;
    Figures.set(row, "weight", weight, { why: reason(holding.weight) });
    row.classList.toggle("stale", Boolean(holding.stale));
    row.classList.toggle("unknown", !Figures.known(holding.value));
    staleMark(row);
    if (changed) Figures.flash(row);
  }

  function rowsRender(holdings) {
    const symbols = new Set(holdings.map((h) => h.symbol));
    // A position's opened chart is a row of its own, named by `data-chart-for`.
    for (const row of [...body.rows]) {
      if (!symbols.has(row.dataset.symbol || row.dataset.chartFor)) row.remove();
    }
    holdings.forEach(rowRender);
    if (charts) {
      holdings.forEach((h) => charts.tick(h.symbol, h.price, h.quote_time));
      charts.load();
    }
    root.querySelector('[data-field="empty"]').hidden = holdings.length > 0;
  }

  // Unknown figures sort last whichever way; text sorts as text, the rest as numbers.
  function compare(a, b) {
    const x = a.holding[sort.key];
    const y = b.holding[sort.key];
    if (TEXT_KEYS.has(sort.key)) {
      const order = String(x || "").localeCompare(String(y || ""));
      return sort.descending ? -order : order;
    }
    if (!Figures.known(x) || !Figures.known(y)) return Figures.known(x) ? -1 : Figures.known(y) ? 1 : 0;
    const order = Number(x) - Number(y);
    return (sort.descending ? -order : order) || a.holding.symbol.localeCompare(b.holding.symbol);
  }

  function rowsSort() {
    const rows = [...body.rows].filter((row) => row.holding);
    const sorted = [...rows].sort(compare);
    if (sorted.some((row, index) => row !== rows[index])) body.append(...sorted);
    if (charts) charts.follow();
    for (const th of table.tHead.rows[0].cells) {
      const button = th.querySelector("[data-sort]");
      if (button && button.dataset.sort === sort.key) {
        th.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
      } else th.removeAttribute("aria-sort");
    }
  }

  function render(data) {
    current = data;
    totalsRender(data);
    if (Array.isArray(data.holdings)) rowsRender(data.holdings);
    rowsSort();
  }

  table.tHead.addEventListener("click", (event) => {
    const button = event.target.closest("[data-sort]");
    if (!button) return;
    const sortKey = button.dataset.sort;
    // A new column starts with its useful end: A to Z for text, largest first for numbers.
    sort = sortKey === sort.key
      ? { key: sortKey, descending: !sort.descending }
      : { key: sortKey, descending: !TEXT_KEYS.has(sortKey) };
    rowsSort();
  });

  const live = (text) => Figures.set(summary, "live", text);

  function update(data) {
    if (data.portfolio_id !== portfolioId) return;
    // Never step back: a cached snapshot older than what is shown is not news.
    if (current && current.as_of && Date.parse(data.as_of) < Date.parse(current.as_of)) return;
    render(data);
    if (valueCharts) valueCharts.update(data);
    Figures.flash(summary.querySelector('[data-field="total_value"]'));
  }

  function refused(message) {
    const code = message.data && message.data.code;
    if (code === "unavailable") {
      live("Live updates are unavailable for a moment: retrying…");
      // Older socket clients do not resend by themselves.
      if (typeof realtime.resendLater !== "function") {
        setTimeout(() => realtime.keep(key, "subscribe_portfolio", { portfolio_id: portfolioId }), 4000);
      }
    } else {
      live(`Not live: ${(message.data && message.data.message) || code}`);
    }
  }

  const realtime = new RealtimeSocket({
    onState(state) {
      if (typeof showState === "function") showState(state);
      if (state === "live") live("");
      else if (state === "reconnecting") live("Connection lost: reconnecting…");
    },
    onMessage(message) {
      if (message.type === "portfolio_update") update(message.data);
      else if (message.type === "history_ready" && charts) charts.historyReady(message.data);
      else if (message.type === "subscribed" && message.data.portfolio_id === portfolioId) live("");
      else if (message.type === "error" && message.data.request_type === "subscribe_portfolio") {
        refused(message);
      }
    },
  });

  render(current);
  realtime.keep(key, "subscribe_portfolio", { portfolio_id: portfolioId });
  realtime.connect();
  // Ages move on between updates.
  setInterval(() => [...body.rows].filter((row) => row.holding).forEach(staleMark), 5000);
})();
