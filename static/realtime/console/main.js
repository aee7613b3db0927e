// The test console: connect and disconnect, send any message from a template or as raw
// text, and watch every frame, the ping round trip and the received counts by type.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const UNKNOWN = "\u2014"; // an em dash: not known yet, never 0
  const NOT_CONNECTED = "Not sent: the socket is not connected. Press Connect first.";

  const meanings = new CloseMeanings();
  const panel = new ConnectionPanel(meanings);
  const clock = new PingClock();
  const counters = new MessageCounters(byId("counters"));
  const log = new FrameLog({
    list: byId("frames"),
    filter: byId("log-filter"),
    pause: byId("log-pause"),
    held: byId("log-held"),
    summary: byId("log-summary"),
  });
  let descriptions = {}; // message type -> what it does, from websocket-info

  // --- traffic ---------------------------------------------------------------------------

  function parsed(text) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  function stateChange(state, detail) {
    if (state === "live") clock.reset(); // pings sent on an old socket are never answered
    panel.stateChange(state, detail);
  }

  function frameSent(text) {
    clock.sent(text, performance.now());
    log.add("out", text, parsed(text));
  }

  function frameReceived(message, text) {
    const rtt = clock.received(message, performance.now());
    counters.add(FrameLog.typeOf(message));
    if (message.type === "batch") {
      for (const update of (message.data && message.data.updates) || []) {
        counters.add(FrameLog.typeOf(update));
      }
    }
    if (message.type === "connection") panel.connectionShow(message.data || {});
    if (rtt !== null) latencyShow();
    log.add("in", text, message);
  }

  function latencyShow() {
    const ms = (value) => (value === null ? UNKNOWN : `${value.toFixed(1)} ms`);
    textSet(byId("latency-last"), ms(clock.last));
    textSet(byId("latency-median"), ms(clock.median()));
    textSet(byId("latency-count"), String(clock.samples.length));
  }

  const socket = new RealtimeSocket({
    onState: stateChange,
    onFrame: frameReceived,
    onSend: frameSent,
  });

  // --- sending ---------------------------------------------------------------------------

  const typeSelect = byId("message-type");
  const dataField = byId("message-data");
  const rawField = byId("raw-message");

  function problemShow(id, text, field) {
    textSet(byId(id), text);
    if (field) field.setAttribute("aria-invalid", String(Boolean(text)));
  }

  function helpShow() {
    textSet(byId("message-help"), descriptions[typeSelect.value] || "");
  }

  typeSelect.addEventListener("change", () => {
    dataField.value = typeSelect.selectedOptions[0].dataset.template || "{}";
    problemShow("send-problem", "", dataField);
    helpShow();
  });

  byId("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse(dataField.value.trim() || "{}");
    } catch (error) {
      problemShow("send-problem", `Not sent: the data is not JSON (${error.message}).`, dataField);
      return;
    }
    problemShow("send-problem", "", dataField);
    if (!socket.send(typeSelect.value, data)) problemShow("send-problem", NOT_CONNECTED);
  });

  byId("raw-example").addEventListener("change", (event) => {
    if (event.target.value) rawField.value = event.target.value;
  });

  byId("raw-form").addEventListener("submit", (event) => {
    event.preventDefault();
    problemShow("raw-problem", socket.sendRaw(rawField.value) ? "" : NOT_CONNECTED);
  });

  // Ctrl+Enter (Cmd+Enter) in a text area sends its form.
  for (const field of [dataField, rawField]) {
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        field.form.requestSubmit();
      }
    });
  }

  // --- controls --------------------------------------------------------------------------

  byId("connect").addEventListener("click", () => {
    problemShow("send-problem", "", dataField);
    problemShow("raw-problem", "");
    socket.connect();
  });
  byId("disconnect").addEventListener("click", () => socket.disconnect());
  byId("clear-log").addEventListener("click", () => log.clear());
  byId("counters-reset").addEventListener("click", () => counters.clear());

  const url = byId("socket-url");
  url.textContent = socket.url;
  let copyClear = null;
  byId("copy-url").addEventListener("click", async () => {
    textSet(byId("copy-status"), await textCopy(url));
    clearTimeout(copyClear);
    copyClear = setTimeout(() => textSet(byId("copy-status"), ""), 5000);
  });

  // The console's own status region says the state with its close code; the header badge
  // would only repeat it to a screen reader.
  const badge = byId("connection-state");
  if (badge) badge.setAttribute("aria-live", "off");

  meanings.load(document.querySelector(".console").dataset.infoUrl).then((info) => {
    descriptions = (info && info.message_types) || {};
    helpShow();
    panel.render(); // a close that came before the meanings did
  });
  socket.connect();
})();
