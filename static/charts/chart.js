// Our own small SVG charts (DESIGN.md: no library, no CDN, no build step): a sparkline for a
// table row and a line chart with a few axis labels, a previous-close line and a readout of
// the point under the pointer (mouse, touch or arrow keys). A value the server does not know
// is null and is drawn as a gap, never as 0; a point flagged incomplete is drawn hollow, on a
// dashed segment, and the readout says what is missing. Every chart carries a text
// alternative, and a sign goes with every colour.
"use strict";

const Charts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

  function node(name, attributes = {}) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  const known = (value) =>
    value !== null && value !== undefined && value !== "" && Number.isFinite(Number(value));

  // "2026-03-12" is a trading day, not a moment: kept at UTC midnight and shown in UTC, so no
  // time zone moves it to the day before.
  const timeOf = (text) =>
    DAY_RE.test(text) ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);

  // The API's points ({t, v, complete?, missing?, cost_basis?, gain?}) as the charts use them.
  function points(raw) {
    return (raw || [])
      .map((p) => ({
        t: timeOf(p.t),
        v: known(p.v) ? Number(p.v) : null,
        incomplete: p.complete === false,
        note: (p.missing || []).join("; "),
        cost: known(p.cost_basis) ? Number(p.cost_basis) : null,
        gain: known(p.gain) ? Number(p.gain) : null,
      }))
      .filter((p) => Number.isFinite(p.t))
      .sort((a, b) => a.t - b.t); // a line is drawn left to right, whatever order came
  }

  // Appends `point` unless it is older than the last one (a snapshot repeated); a point in
  // the same second replaces the last, as the server's rings keep one point per second (so
  // a live price already read from the ring is not drawn twice). Keeps at most `max`, by
  // thinning the older half (`thin`), so the line keeps its whole span.
  function appendTo(list, point, max) {
    const last = list[list.length - 1];
    const second = (t) => Math.floor(t / 1000);
    if (last && second(point.t) < second(last.t)) return false;
    if (last && second(point.t) === second(last.t)) {
      if (last.v === point.v) return false;
      list[list.length - 1] = point;
    } else list.push(point);
    if (list.length > max) thin(list, max);
    return true;
  }

  // Over the bound, every second point of the older half goes: today since the morning stays
  // on the line, with less detail where it is oldest (as the server thins sparklines).
  function thin(list, max) {
    while (list.length > max) {
      const half = Math.floor(list.length / 2);
      const kept = list.slice(0, half).filter((_, index) => index % 2 === 0);
      list.splice(0, half, ...kept);
    }
  }

  const PERCENT = new Intl.NumberFormat(undefined, {
    minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero",
  }); // prettier-ignore
  // The change from `from` to `to` in percent, signed ("+1.02%"); "" when `from` is 0.
  const percentText = (from, to) =>
    from ? `${PERCENT.format(((to - from) / Math.abs(from)) * 100)}%` : "";

  // Up or down: against the previous close when there is one (as the row's change says),
  // else from the first value to the last.
  function trend(values, reference = null) {
    const shown = values.filter(known);
    if (!shown.length) return 0;
    if (known(reference)) return Math.sign(shown[shown.length - 1] - reference);
    if (shown.length < 2) return 0;
    return Math.sign(shown[shown.length - 1] - shown[0]);
  }

  // "from 187.20 to 189.10, +1.0%": what a screen reader hears instead of the line.
  function journey(values, format) {
    const shown = values.filter(known);
    if (!shown.length) return "";
    if (shown.length === 1) return `${format(shown[0])}, one value so far`;
    const [first, last] = [shown[0], shown[shown.length - 1]];
    const change = percentText(first, last);
    return `from ${format(first)} to ${format(last)}${change ? `, ${change}` : ""}`;
  }

  // A chart's series from our API: the JSON body, or an Error saying why (its `detail`).
  async function read(url) {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw new Error((body && body.detail) || `HTTP ${response.status}`);
    return body;
  }

  // An HTML element with properties and children, for the charts' small bits of page.
  function element(tag, properties = {}, children = []) {
    const made = document.createElement(tag);
    for (const [key, value] of Object.entries(properties)) {
      if (key in made && !key.includes("-")) made[key] = value;
      else made.setAttribute(key, value);
    }
    made.append(...children);
    return made;
  }

  // --- sparkline ---------------------------------------------------------------------------

  const SPARK = { width: 100, height: 30, pad: 2 };

  // A row's line of today's prices in `host` (an element of its own: role img, labelled).
  function sparkline(host, { name, format = String, max = 500 } = {}) {
    let list = [];
    let reference = null;
    let failed = "";
    host.setAttribute("role", "img");
    host.classList.add("spark");

    function render() {
      host.dataset.points = String(list.length);
      const values = list.map((p) => p.v);
      const direction = trend(values, reference);
      host.dataset.trend = direction > 0 ? "up" : direction < 0 ? "down" : "flat";
      if (failed) {
        host.setAttribute("aria-label", `${name} today: no chart (${failed})`);
        host.replaceChildren();
        return;
      }
      const said = journey(values, format);
      host.setAttribute("aria-label", `${name} today: ${said || "no prices yet"}`);
      const svg = node("svg", {
        viewBox: `0 0 ${SPARK.width} ${SPARK.height}`, preserveAspectRatio: "none",
        "aria-hidden": "true", focusable: "false",
      }); // prettier-ignore
      const shown = list.filter((p) => p.v !== null);
      if (shown.length) {
        // Scaled to the day's prices alone: a previous close far off would flatten the line,
        // so it is drawn only when it falls within them.
        const all = shown.map((p) => p.v);
        const [lo, hi] = [Math.min(...all), Math.max(...all)];
        const [t0, t1] = [shown[0].t, shown[shown.length - 1].t];
        const x = (t) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * SPARK.width : SPARK.width / 2);
        const inner = SPARK.height - 2 * SPARK.pad;
        const y = (v) => SPARK.pad + (hi > lo ? ((hi - v) / (hi - lo)) * inner : inner / 2);
        if (known(reference) && reference >= lo && reference <= hi) {
          const level = y(reference).toFixed(2);
          svg.append(node("line", {
            class: "spark-reference", x1: 0, x2: SPARK.width, y1: level, y2: level,
            "vector-effect": "non-scaling-stroke",
          })); // prettier-ignore
        }
        const line = shown.map((p) => `${x(p.t).toFixed(2)},${y(p.v).toFixed(2)}`).join(" ");
        svg.append(node("polyline", {
          class: "spark-line", points: shown.length > 1 ? line : `${line} ${line}`,
          "vector-effect": "non-scaling-stroke",
        })); // prettier-ignore
      }
      host.replaceChildren(svg);
    }

    return {
      // `values`: points as Charts.points gives them, oldest first.
      set(values, { previousClose = null } = {}) {
        failed = "";
        list = values.slice(-max);
        reference = known(previousClose) ? Number(previousClose) : null;
        render();
      },
      push(point) {
        if (failed || !known(point.v) || !Number.isFinite(point.t)) return false;
        const drawn = appendTo(list, { ...point, v: Number(point.v) }, max);
        if (drawn) render();
        return drawn;
      },
      fail(why) {
        failed = why;
        render();
      },
      get points() {
        return list;
      },
    };
  }

  // --- axes --------------------------------------------------------------------------------

  // Round steps between lo and hi (1, 2, 2.5 or 5 times a power of ten), at most about
  // `count` + 1 of them, and the decimals that write them.
  function ticks(lo, hi, count) {
    const raw = (hi - lo) / (Math.max(1, count) + 1);
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
    const values = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) values.push(v);
    const quarter = step / power === 2.5 ? 1 : 0;
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + quarter);
    return { values, decimals: Math.min(decimals, 8) };
  }

  // The values' span with a little air; a flat line gets some around it.
  function domain(values) {
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.01 || 1;
    return [lo - pad, hi + pad];
  }

  const DAY_MS = 86_400_000;
  const CLOCK = { hour: "2-digit", minute: "2-digit" };

  // How a moment on the x axis is written: a clock for today, a date for daily bars.
  function when(t, { daily, span }) {
    const moment = new Date(t);
    if (!daily) {
      const seconds = span < 15 * 60 * 1000 ? { second: "2-digit" } : {};
      return moment.toLocaleTimeString(undefined, { ...CLOCK, ...seconds });
    }
    const part = span > 300 * DAY_MS ? { year: "numeric" } : { day: "numeric" };
    return moment.toLocaleDateString(undefined, { timeZone: "UTC", month: "short", ...part });
  }

  // A point's moment in full, for the readout.
  const whenFull = (t, daily) =>
    daily
      ? new Date(t).toLocaleDateString(undefined, { timeZone: "UTC", dateStyle: "medium" })
      : new Date(t).toLocaleTimeString(undefined, { ...CLOCK, second: "2-digit" });

  // --- line chart drawing ------------------------------------------------------------------

  const HEIGHT_FALLBACK = 200;
  const MARGIN = { top: 12, right: 10, bottom: 24 };
  const fixed = (number) => number.toFixed(1);

  // Scales and axis labels for `data` in a plot of `width` x `height` pixels.
  function frameOf(data, width, height) {
    const list = data.points;
    const second = (p) => (data.second ? p[data.second] : null);
    const values = list.flatMap((p) => [p.v, second(p)]).filter(known);
    if (data.reference) values.push(data.reference.value);
    const [lo, hi] = domain(values);
    const yTicks = ticks(lo, hi, height < 150 ? 3 : 5);
    const axis = new Intl.NumberFormat(undefined, {
      minimumFractionDigits: yTicks.decimals, maximumFractionDigits: yTicks.decimals,
    }); // prettier-ignore
    const yLabels = yTicks.values.map((v) => axis.format(v));
    const left = 10 + 6.5 * Math.max(...yLabels.map((text) => text.length));
    const inner = {
      x: left, y: MARGIN.top,
      w: width - left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom,
    }; // prettier-ignore
    const [t0, t1] = [list[0].t, list[list.length - 1].t];
    const x = (t) => inner.x + (t1 > t0 ? ((t - t0) / (t1 - t0)) * inner.w : inner.w / 2);
    const y = (v) => inner.y + ((hi - v) / (hi - lo)) * inner.h;
    return { width, height, inner, x, y, yTicks: yTicks.values, yLabels, span: t1 - t0 };
  }

  // A few indexes spread along the points, for the x axis labels.
  function spread(length, count) {
    if (length === 1) return [0];
    const picked = new Set();
    for (let i = 0; i < count; i += 1) picked.add(Math.round((i * (length - 1)) / (count - 1)));
    return [...picked];
  }

  function gridOf(frame, data) {
    const { inner, x, y } = frame;
    const grid = node("g", { class: "chart-grid", "aria-hidden": "true" });
    frame.yTicks.forEach((v, i) => {
      const level = fixed(y(v));
      grid.append(node("line", { x1: inner.x, x2: inner.x + inner.w, y1: level, y2: level }));
      const text = node("text", {
        x: inner.x - 6, y: level, "text-anchor": "end", "dominant-baseline": "middle",
      }); // prettier-ignore
      text.textContent = frame.yLabels[i];
      grid.append(text);
    });
    const count = Math.max(2, Math.min(5, Math.floor(inner.w / 110)));
    for (const index of spread(data.points.length, count)) {
      const at = x(data.points[index].t);
      const edge = at < inner.x + 30 ? "start" : at > inner.x + inner.w - 30 ? "end" : "middle";
      const text = node("text", { x: fixed(at), y: frame.height - 6, "text-anchor": edge });
      text.textContent = when(data.points[index].t, { daily: data.daily, span: frame.span });
      grid.append(text);
    }
    return grid;
  }

  // The line in runs of known values (a value alone is a dot); a step to or from an
  // incomplete point is on the dashed path.
  function pathsOf(list, value, { x, y }, className) {
    const group = node("g", { class: className });
    const at = (p) => `${fixed(x(p.t))},${fixed(y(value(p)))}`;
    let [whole, partial] = ["", ""];
    list.forEach((p, i) => {
      const before = list[i - 1];
      if (!known(value(p))) return;
      if (before && known(value(before))) {
        const step = `M${at(before)}L${at(p)}`;
        if (before.incomplete || p.incomplete) partial += step;
        else whole += step;
      } else if (!known(value(list[i + 1] || {}))) {
        const [cx, cy] = at(p).split(",");
        group.append(node("circle", { class: "chart-dot", cx, cy, r: 2.5 }));
      }
    });
    group.append(node("path", { class: "chart-line", d: whole || "M0,0" }));
    group.append(node("path", { class: "chart-line chart-line-incomplete", d: partial || "M0,0" }));
    return group;
  }

  // A light fill under each run of known values.
  function areaOf(list, { x, y, inner }) {
    const base = fixed(inner.y + inner.h);
    let [d, run] = ["", []];
    const close = () => {
      if (run.length > 1) {
        const edge = (p) => `${fixed(x(p.t))},${base}`;
        const top = run.map((p) => `L${fixed(x(p.t))},${fixed(y(p.v))}`).join("");
        d += `M${edge(run[0])}${top}L${edge(run[run.length - 1])}Z`;
      }
      run = [];
    };
    list.forEach((p) => (p.v === null ? close() : run.push(p)));
    close();
    return node("path", { class: "chart-area", d: d || "M0,0", "aria-hidden": "true" });
  }

  // The previous close (or another level) as a dashed line, labelled at its right end.
  function referenceOf(reference, text, { y, inner }) {
    const group = node("g", { class: "chart-reference", "aria-hidden": "true" });
    const level = y(reference.value);
    const right = inner.x + inner.w;
    group.append(node("line", { x1: inner.x, x2: right, y1: fixed(level), y2: fixed(level) }));
    const label = node("text", { x: right - 2, y: fixed(level - 4), "text-anchor": "end" });
    label.textContent = text;
    group.append(label);
    return group;
  }

  // Incomplete points: hollow markers, so they read as such without colour.
  function markersOf(list, { x, y }) {
    const group = node("g", { class: "chart-markers", "aria-hidden": "true" });
    for (const p of list) {
      if (!p.incomplete || p.v === null) continue;
      const [cx, cy] = [fixed(x(p.t)), fixed(y(p.v))];
      group.append(node("circle", { class: "chart-incomplete", cx, cy, r: 3.5 }));
    }
    return group;
  }

  function crossOf({ inner }) {
    const cross = node("g", { class: "chart-cross", "aria-hidden": "true", visibility: "hidden" });
    cross.append(
      node("line", { y1: inner.y, y2: inner.y + inner.h, x1: 0, x2: 0 }),
      node("circle", { r: 4, cx: 0, cy: 0 }),
    );
    return cross;
  }

  // The index of the point nearest `at` on the x axis (points are oldest first).
  function nearestIndex(list, x, at) {
    let [low, high] = [0, list.length - 1];
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (x(list[middle].t) < at) low = middle;
      else high = middle;
    }
    return Math.abs(x(list[low].t) - at) <= Math.abs(x(list[high].t) - at) ? low : high;
  }

  // --- line chart --------------------------------------------------------------------------

  function partsBuild(host) {
    host.classList.add("chart");
    const said = document.createElement("p");
    said.className = "chart-readout";
    said.setAttribute("aria-hidden", "true"); // the keyboard's status line speaks for it
    const plot = document.createElement("div");
    plot.className = "chart-plot";
    plot.tabIndex = 0;
    plot.setAttribute("role", "img"); // a picture; its label says what it shows
    const state = document.createElement("p");
    state.className = "chart-state";
    const spoken = document.createElement("p");
    spoken.className = "visually-hidden";
    spoken.setAttribute("role", "status");
    host.replaceChildren(said, plot, state, spoken);
    return { said, plot, state, spoken };
  }

  // A line chart in `host`: a readout line, the plot and a state line. `format(value)` writes
  // a value; `readout(point, series)` the line shown for the point under the pointer; `tone`
  // "trend" colours the line by its direction, "plain" keeps it one colour (a legend's).
  function line(host, { name, format = String, readout, max = 500, tone = "trend" } = {}) {
    const { said, plot, state, spoken } = partsBuild(host);
    let data = null; // {points, title, daily, reference: {value, label|text}, second}
    let awaiting = null; // a series shown empty: its first live point starts it
    let cursor = null; // index of the point under the pointer or the keyboard, or null
    let frame = null;

    function stateShow(kind, text) {
      host.dataset.state = kind;
      state.textContent = text || "";
      state.hidden = !text;
      host.setAttribute("aria-busy", kind === "loading" ? "true" : "false");
    }

    const referenceText = (reference) =>
      reference.text || `${reference.label} ${format(reference.value)}`;

    function label() {
      const values = data.points.map((p) => p.v);
      const gaps = data.points.filter((p) => p.v === null).length;
      const partial = data.points.filter((p) => p.v !== null && p.incomplete).length;
      const notes = [];
      if (partial) notes.push(`${partial} incomplete`);
      if (gaps) notes.push(`${gaps} without a value`);
      const reference = data.reference ? `; ${referenceText(data.reference)}` : "";
      const extra = notes.length ? ` (${notes.join(", ")})` : "";
      return `${name} ${data.title}: ${journey(values, format) || "no values"}${reference}${extra}`;
    }

    function readoutOf(index) {
      const point = data.points[index];
      if (!point) return "";
      if (readout) return readout(point, data);
      const value = point.v === null ? "no value" : format(point.v);
      return `${whenFull(point.t, data.daily)} \u00b7 ${value}`;
    }

    // `fresh`: a series just shown (it fades in, unless motion is reduced), not a live point.
    function draw(fresh = false) {
      const width = Math.max(120, plot.clientWidth || 300);
      const height = Math.max(80, plot.clientHeight || HEIGHT_FALLBACK);
      const list = data.points;
      frame = frameOf(data, width, height);
      const svg = node("svg", {
        viewBox: `0 0 ${width} ${height}`, width, height, "aria-hidden": "true", focusable: "false",
      }); // prettier-ignore
      const direction = trend(list.map((p) => p.v), data.reference && data.reference.value);
      if (tone === "trend") svg.dataset.trend = ["down", "flat", "up"][direction + 1];
      svg.append(gridOf(frame, data));
      if (data.second) svg.append(pathsOf(list, (p) => p[data.second], frame, "chart-second"));
      svg.append(areaOf(list, frame), pathsOf(list, (p) => p.v, frame, "chart-main"));
      const reference = data.reference;
      if (reference) svg.append(referenceOf(reference, referenceText(reference), frame));
      svg.append(markersOf(list, frame), crossOf(frame));
      if (fresh) svg.classList.add("chart-fresh");
      plot.replaceChildren(svg);
      plot.setAttribute("aria-label", `${label()}. Arrow keys read the values.`);
      cursorShow(cursor);
    }

    function cursorShow(index) {
      cursor = index;
      const svg = plot.querySelector("svg");
      const cross = svg && svg.querySelector(".chart-cross");
      const shown = index === null ? data.points.length - 1 : index;
      said.textContent = readoutOf(shown);
      said.classList.toggle("chart-readout-latest", index === null);
      if (!cross) return;
      const point = data.points[index];
      if (index === null || !point) {
        cross.setAttribute("visibility", "hidden");
        return;
      }
      const at = fixed(frame.x(point.t));
      const [rule, dot] = cross.children;
      rule.setAttribute("x1", at);
      rule.setAttribute("x2", at);
      dot.setAttribute("cx", at);
      dot.setAttribute("visibility", point.v === null ? "hidden" : "visible");
      if (point.v !== null) dot.setAttribute("cy", fixed(frame.y(point.v)));
      dot.classList.toggle("chart-cross-incomplete", point.incomplete);
      cross.setAttribute("visibility", "visible");
    }

    // The point nearest the pointer (the plot may be drawn at another width than shown).
    function nearest(clientX) {
      const box = plot.getBoundingClientRect();
      const ratio = frame.width / box.width || 1;
      return nearestIndex(data.points, frame.x, (clientX - box.left) * ratio);
    }

    const drawing = () => host.dataset.state === "ready" && data && data.points.length;

    plot.addEventListener("pointermove", (event) => {
      if (drawing()) cursorShow(nearest(event.clientX));
    });
    plot.addEventListener("pointerdown", (event) => {
      if (drawing()) cursorShow(nearest(event.clientX));
    });
    plot.addEventListener("pointerleave", (event) => {
      // A finger lifted leaves the readout it chose; a mouse that leaves shows the latest.
      if (drawing() && event.pointerType === "mouse") cursorShow(null);
    });
    plot.addEventListener("keydown", (event) => {
      if (!drawing()) return;
      const last = data.points.length - 1;
      const from = cursor === null ? last : cursor;
      const moves = { ArrowLeft: from - 1, ArrowRight: from + 1, Home: 0, End: last };
      if (event.key === "Escape") {
        cursorShow(null);
        return;
      }
      if (!(event.key in moves)) return;
      event.preventDefault();
      cursorShow(Math.max(0, Math.min(last, moves[event.key])));
      spoken.textContent = said.textContent;
    });

    // Redrawn at the container's new width; a frame at most, however often it changes.
    let pending = false;
    let drawnWidth = 0;
    new ResizeObserver(() => {
      if (pending || !drawing() || plot.clientWidth === drawnWidth) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        drawnWidth = plot.clientWidth;
        if (drawing()) draw();
      });
    }).observe(plot);

    function clear(kind, text) {
      data = null;
      awaiting = null;
      cursor = null;
      said.textContent = "";
      plot.replaceChildren();
      plot.setAttribute("aria-label", `${name}: ${text}`);
      host.dataset.points = "0";
      stateShow(kind, text);
    }

    clear("loading", "loading\u2026");

    return {
      // series: {points (as from Charts.points), title, daily, reference, second, empty}.
      show(series) {
        const list = series.points.slice(-max);
        if (!list.some((p) => p.v !== null)) {
          clear("empty", series.empty || "No values yet.");
          awaiting = series;
          return;
        }
        data = { ...series, points: list };
        cursor = null;
        host.dataset.points = String(list.length);
        stateShow("ready", "");
        drawnWidth = plot.clientWidth;
        draw(true);
      },
      // A live point: appended (the same moment replaces, an older one is ignored).
      push(point) {
        if (host.dataset.state === "empty" && awaiting && point.v !== null) {
          this.show({ ...awaiting, points: [point] });
          return true;
        }
        if (!drawing()) return false;
        const drawn = appendTo(data.points, point, max);
        if (drawn) {
          host.dataset.points = String(data.points.length);
          draw();
        }
        return drawn;
      },
      loading(text = "loading\u2026") {
        clear("loading", text);
      },
      fail(text) {
        clear("error", text);
      },
      get series() {
        return data;
      },
    };
  }

  return { known, points, read, element, sparkline, line, timeOf, whenFull, percentText };
})();
