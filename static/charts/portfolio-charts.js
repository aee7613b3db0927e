// A portfolio's two charts: its value today (from its intraday ring, extended by each
// `portfolio_update` whose total is known) and its performance over 1M, 6M, 1Y or Max, as
// value against cost basis or as gain. A day valued with something missing is drawn hollow
// on a dashed segment and the readout says what was missing; a day with no value is a gap,
// never 0.
"use strict";

const PortfolioCharts = (() => {
  const TITLES = { "1m": "1 month", "6m": "6 months", "1y": "1 year", max: "all time" };

  // "12 Mar 2026 · 47,630.12 USD · gain +7,630.12 USD (+19.10%) · incomplete: KO: no price";
  // in gain mode the value shown is the gain, and the cost basis is said instead.
  function readoutWith(format, signed) {
    return (point, data) => {
      const when = Charts.whenFull(point.t, data.daily);
      if (point.v === null) {
        return `${when} \u00b7 value unknown${point.note ? `: ${point.note}` : ""}`;
      }
      const parts = [when, data.mode === "gain" ? `gain ${signed(point.v)}` : format(point.v)];
      if (data.mode !== "gain" && Charts.known(point.gain)) {
        const share = point.cost ? Charts.percentText(point.cost, point.cost + point.gain) : "";
        parts.push(`gain ${signed(point.gain)}${share ? ` (${share})` : ""}`);
      }
      if (data.mode === "gain" && point.cost !== null) {
        parts.push(`cost basis ${format(point.cost)}`);
      }
      if (point.incomplete) parts.push(`incomplete: ${point.note || "something is missing"}`);
      return parts.join(" \u00b7 ");
    };
  }

  // today, performance: the chart hosts; controls: the element holding the range and
  // value/gain buttons; url: the series URL; format/signed: how values are written.
  function start({ name, today, performance, controls, url, format, signed, max }) {
    const readout = readoutWith(format, signed);
    const todayChart = Charts.line(today, { name, format, readout, max });
    const performanceChart = Charts.line(performance, {
      name, format, readout, max: Infinity, tone: "plain", // the legend's colours
    }); // prettier-ignore
    const state = { range: "1m", mode: "value", points: null, token: 0 };

    async function todayRead() {
      try {
        const body = await Charts.read(`${url}?range=1d`);
        todayChart.show({
          points: Charts.points(body.points), title: "value today", daily: false,
          empty: "No values yet today: the next price update adds one.",
        }); // prettier-ignore
      } catch (error) {
        todayChart.fail(`Could not read today's values: ${error.message}`);
      }
    }

    function performanceShow() {
      const gain = state.mode === "gain";
      const points = gain
        ? state.points.map((p) => ({ ...p, v: p.v === null ? null : p.gain }))
        : state.points;
      performanceChart.show({
        points,
        title: `${gain ? "gain" : "value"}, ${TITLES[state.range]}`,
        daily: true,
        mode: state.mode,
        second: gain ? null : "cost",
        reference: gain ? { value: 0, text: "Cost basis (no gain)" } : null,
        empty: "No value history for this range yet.",
      });
    }

    async function performanceRead() {
      state.token += 1;
      const token = state.token;
      performanceChart.loading();
      try {
        const body = await Charts.read(`${url}?range=${state.range}`);
        if (token !== state.token) return;
        state.points = Charts.points(body.points);
        performanceShow();
      } catch (error) {
        if (token !== state.token) return;
        performanceChart.fail(`Could not read the history: ${error.message}`);
      }
    }

    function pressed(attribute, value) {
      controls.querySelectorAll(`button[${attribute}]`).forEach((button) => {
        button.setAttribute("aria-pressed", String(button.getAttribute(attribute) === value));
      });
    }

    controls.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.range) {
        state.range = button.dataset.range;
        pressed("data-range", state.range);
        performanceRead();
      } else if (button.dataset.show) {
        state.mode = button.dataset.show;
        pressed("data-show", state.mode);
        if (state.points) performanceShow();
      }
    });

    // A `portfolio_update`: its total, when known, is the next point of today's chart.
    function update(data) {
      if (!Charts.known(data.total_value) || !data.as_of) return;
      todayChart.push({
        t: Date.parse(data.as_of),
        v: Number(data.total_value),
        incomplete: data.complete === false,
        note: (data.missing || []).join("; "),
        cost: Charts.known(data.cost_basis) ? Number(data.cost_basis) : null,
        gain: Charts.known(data.unrealised_gain) ? Number(data.unrealised_gain) : null,
      });
    }

    pressed("data-range", state.range);
    pressed("data-show", state.mode);
    todayRead();
    performanceRead();
    return { update };
  }

  return { start };
})();
