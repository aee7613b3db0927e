// The charts of a page's asset rows (the dashboard's quotes, a portfolio's positions): a
// sparkline of today's prices in every row, read for all rows in one request and extended by
// each live price (no request per tick); a row opened (its chart button, or a click on the
// row) shows a larger chart under it: Today, 1M, 6M, 1Y, the previous close, a pointer
// readout and a "Set alert" link. Daily bars not yet fetched answer `status: "loading"`: the
// chart says so and reads the series again when the page's socket brings `history_ready`.
"use strict";

const AssetCharts = (() => {
  const RANGES = [
    ["1d", "Today", "today"],
    ["1m", "1M", "1 month"],
    ["6m", "6M", "6 months"],
    ["1y", "1Y", "1 year"],
  ];
  const SYMBOLS_PER_REQUEST = 100; // the sparklines endpoint's limit
  // A `history_ready` can be missed (the socket was down): then the series is read again
  // after a while, a few times at most, before the chart says the history is not there.
  const REREAD_AFTER_MS = 20000;
  const REREADS_MAX = 3;
  const { element } = Charts;

  // "14:32:05 · $189.10 (+1.02% vs prev close)"; a daily range compares with its first day.
  function readoutWith(format) {
    return (point, data) => {
      const when = Charts.whenFull(point.t, data.daily);
      if (point.v === null) return `${when} \u00b7 no price`;
      const first = data.points.find((p) => p.v !== null);
      const base = data.reference ? data.reference.value : first.v;
      const since = data.reference ? "vs prev close" : `since ${Charts.whenFull(first.t, true)}`;
      const change = Charts.percentText(base, point.v);
      return `${when} \u00b7 ${format(point.v)}${change ? ` (${change} ${since})` : ""}`;
    };
  }

  // The row that holds an opened chart: range buttons, the "Set alert" link, the chart.
  function panelBuild({ symbol, id, columns, alertUrl }) {
    const ranges = element("div", { className: "chart-ranges", role: "group" },
      RANGES.map(([range, text]) => element("button", {
        type: "button", textContent: text, "data-range": range, "aria-pressed": "false",
      })),
    ); // prettier-ignore
    ranges.setAttribute("aria-label", `${symbol} chart range`);
    const bar = element("div", { className: "chart-bar" }, [ranges]);
    if (alertUrl) {
      const whose = element("span", { className: "visually-hidden" }, [` for ${symbol}`]);
      const href = `${alertUrl}?symbol=${encodeURIComponent(symbol)}`;
      bar.append(element("a", { className: "chart-alert", href }, ["Set alert", whose]));
    }
    const host = element("div");
    const note = element("p", { className: "chart-note" });
    const box = element("div", { className: "chart-panel", id, role: "region" }, [bar, host, note]);
    box.setAttribute("aria-label", `${symbol} chart`);
    const cell = element("td", { colSpan: columns }, [box]);
    const holder = element("tr", { className: "chart-row", "data-chart-for": symbol }, [cell]);
    return { holder, host, note, ranges };
  }

  // root: the element holding the rows (tr[data-symbol], each with a .spark in a
  // button.chart-toggle); urls: {sparklines, series ("SYMBOL" in it), alert (may be "")};
  // max: the ring's bound; formatFor(symbol): how that symbol's values are written.
  function start({ root, urls, max, formatFor }) {
    const sparks = new Map(); // symbol -> {host, line, previousClose, asked}
    const panels = new Map(); // symbol -> an opened row's chart
    let panelCount = 0;

    const rowOf = (symbol) => root.querySelector(`tr[data-symbol="${CSS.escape(symbol)}"]`);

    // --- sparklines ------------------------------------------------------------------------

    function attach(row) {
      const symbol = row.dataset.symbol;
      const host = row.querySelector(".spark");
      if (!symbol || !host) return;
      const before = sparks.get(symbol);
      if (before && before.host === host) return;
      const entry = {
        host,
        line: Charts.sparkline(host, { name: symbol, format: formatFor(symbol), max }),
        previousClose: before ? before.previousClose : null,
        asked: Boolean(before && before.asked),
      };
      // A row built again (moved to another table) keeps what its line had drawn.
      entry.line.set(before ? before.line.points : [], { previousClose: entry.previousClose });
      sparks.set(symbol, entry);
    }

    function loaded(symbol, series) {
      const entry = sparks.get(symbol);
      const early = entry.line.points; // live prices that came before the answer
      entry.previousClose = series.previous_close;
      entry.line.set(Charts.points(series.points), { previousClose: series.previous_close });
      early.forEach((point) => entry.line.push(point));
    }

    async function chunkLoad(chunk) {
      chunk.forEach((symbol) => (sparks.get(symbol).asked = true));
      const query = chunk.map(encodeURIComponent).join(",");
      try {
        const body = await Charts.read(`${urls.sparklines}?symbols=${query}`);
        const series = (body && body.series) || {};
        for (const symbol of chunk) {
          if (series[symbol]) loaded(symbol, series[symbol]);
          else sparks.get(symbol).line.fail("no intraday prices");
        }
      } catch (error) {
        chunk.forEach((symbol) => sparks.get(symbol).line.fail(error.message));
      }
    }

    // One request for every row not asked for yet (in chunks of the endpoint's limit).
    async function load() {
      root.querySelectorAll("tr[data-symbol]").forEach(attach);
      const wanted = [...sparks.entries()].filter(([, e]) => !e.asked).map(([s]) => s);
      for (let i = 0; i < wanted.length; i += SYMBOLS_PER_REQUEST) {
        await chunkLoad(wanted.slice(i, i + SYMBOLS_PER_REQUEST));
      }
    }

    // Every row read again (after the socket was away: the prices of the gap are in the ring).
    function reload() {
      sparks.forEach((entry) => (entry.asked = false));
      return load();
    }

    // A live price: drawn on the row's line and on its open Today chart.
    function tick(symbol, price, time) {
      if (!Charts.known(price) || !time) return;
      const point = { t: Date.parse(time), v: Number(price), incomplete: false, note: "" };
      const entry = sparks.get(symbol);
      if (entry) entry.line.push(point);
      const panel = panels.get(symbol);
      if (panel && panel.range === "1d") panel.chart.push(point);
    }

    // --- an opened row ---------------------------------------------------------------------

    function panelMake(symbol, row) {
      panelCount += 1;
      const id = `chart-panel-${panelCount}`;
      const parts = panelBuild({ symbol, id, columns: row.cells.length, alertUrl: urls.alert });
      const format = formatFor(symbol);
      const chart = Charts.line(parts.host, {
        name: symbol, format, readout: readoutWith(format), max,
      }); // prettier-ignore
      const panel = { symbol, id, chart, ...parts, range: "1d", token: 0, rereads: 0 };
      Object.assign(panel, { waiting: false, timer: null });
      parts.ranges.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-range]");
        if (button) rangeShow(panel, button.dataset.range);
      });
      return panel;
    }

    function rangeShow(panel, range) {
      panel.range = range;
      panel.rereads = 0;
      panel.ranges.querySelectorAll("button").forEach((button) => {
        button.setAttribute("aria-pressed", String(button.dataset.range === range));
      });
      panel.chart.loading();
      panel.note.textContent = "";
      seriesRead(panel);
    }

    const current = (panel, token) => token === panel.token && panels.get(panel.symbol) === panel;

    async function seriesRead(panel) {
      clearTimeout(panel.timer);
      panel.token += 1;
      const { token, range } = panel;
      const path = urls.series.replace("SYMBOL", encodeURIComponent(panel.symbol));
      let body;
      try {
        body = await Charts.read(`${path}?range=${range}`);
      } catch (error) {
        if (current(panel, token)) panel.chart.fail(`Could not read the chart: ${error.message}`);
        return;
      }
      if (!current(panel, token)) return; // another range was chosen meanwhile
      panel.waiting = body.status === "loading";
      if (panel.waiting) {
        panel.chart.loading("loading\u2026 (fetching the price history)");
        panel.timer = setTimeout(() => reread(panel), REREAD_AFTER_MS);
        return;
      }
      seriesShow(panel, body);
    }

    function seriesShow(panel, body) {
      const [, , title] = RANGES.find(([r]) => r === panel.range);
      const daily = panel.range !== "1d";
      const previous = Charts.known(body.previous_close) ? Number(body.previous_close) : null;
      panel.chart.show({
        points: Charts.points(body.points),
        title,
        daily,
        // The previous close is today's reference; on daily bars it is the last day but one.
        reference: !daily && previous !== null ? { value: previous, label: "Prev close" } : null,
        empty: daily ? "No daily prices for this range yet." : "No prices yet today.",
      });
      const why = body.reason || "the prices are stale";
      panel.note.textContent = body.stale ? `Not current: ${why}` : "";
    }

    function reread(panel) {
      if (panels.get(panel.symbol) !== panel) return;
      if (panel.rereads >= REREADS_MAX) {
        panel.waiting = false;
        panel.chart.fail("The price history is not available yet: try again later.");
        return;
      }
      panel.rereads += 1;
      seriesRead(panel);
    }

    // The socket's `history_ready` ({symbol, bars, ranges, error}): the chart waiting for
    // that symbol reads its series again, or says why there is none.
    function historyReady(data) {
      const panel = panels.get(data.symbol);
      if (!panel || !panel.waiting) return;
      if (data.error && !(data.ranges || []).includes(panel.range)) {
        clearTimeout(panel.timer);
        panel.waiting = false;
        panel.chart.fail(`No price history for ${data.symbol}: ${data.error}`);
        return;
      }
      reread(panel);
    }

    function expandedShow(row, panel) {
      const toggle = row.querySelector("button.chart-toggle");
      if (!toggle) return;
      toggle.setAttribute("aria-expanded", String(Boolean(panel)));
      if (panel) toggle.setAttribute("aria-controls", panel.id);
      else toggle.removeAttribute("aria-controls");
      row.classList.toggle("chart-open", Boolean(panel));
    }

    function open(symbol) {
      const row = rowOf(symbol);
      if (!row || panels.has(symbol)) return;
      const panel = panelMake(symbol, row);
      panels.set(symbol, panel);
      row.after(panel.holder);
      expandedShow(row, panel);
      rangeShow(panel, "1d");
    }

    function close(symbol) {
      const panel = panels.get(symbol);
      if (!panel) return;
      clearTimeout(panel.timer);
      panels.delete(symbol);
      panel.holder.remove();
      const row = rowOf(symbol);
      if (row) expandedShow(row, null);
    }

    // Each opened chart stays right under its row after rows move, sort or are built again;
    // one whose row left the page goes with it.
    function follow() {
      for (const [symbol, panel] of panels) {
        const row = rowOf(symbol);
        if (!row) {
          close(symbol);
          continue;
        }
        if (row.nextElementSibling !== panel.holder) row.after(panel.holder);
        panel.holder.firstElementChild.colSpan = row.cells.length;
        expandedShow(row, panel);
      }
      root.querySelectorAll("tr[data-symbol]").forEach(attach);
    }

    // The row's own button, or a click anywhere on the row that is not on another control
    // (nor the end of selecting its text).
    root.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-symbol]");
      if (!row || !root.contains(row) || !row.querySelector(".spark")) return;
      const onToggle = event.target.closest("button.chart-toggle");
      const elsewhere = event.target.closest("a, button, input, select, textarea, label, form");
      if (!onToggle && (elsewhere || String(window.getSelection()).length)) return;
      if (panels.has(row.dataset.symbol)) close(row.dataset.symbol);
      else open(row.dataset.symbol);
    });

    return { load, reload, tick, historyReady, follow, open, close };
  }

  return { start };
})();
