// A reconnecting client for /ws/realtime/: resubscribes after every reconnect (the server
// then sends fresh snapshots, so nothing missed while away stays missing) and pings so an
// open page never hits the idle timeout.
"use strict";

// Close codes after which retrying cannot help: the server refused this client.
const REFUSED_CLOSE_CODES = { 4001: "not allowed", 4029: "too many open tabs" };

class RealtimeSocket {
  // onMessage(message): every message, a batch's updates one by one (what a page renders).
  // onState(state, detail): "connecting", "live", "reconnecting", "closed[: why]"; detail is
  // the last close {code, reason, byClient} and, while reconnecting, retryAt (epoch ms).
  // Optional: onFrame(message, text) gets every frame as received (a batch whole) and
  // onSend(text) every frame as sent, for pages that show the traffic itself.
  constructor({ onMessage, onState, onFrame, onSend } = {}) {
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onFrame = onFrame || (() => {});
    this.onSend = onSend || (() => {});
    this.subscriptions = new Map(); // key -> [type, data]
    this.retry = 0;
    this.socket = null;
    this.stopped = false; // disconnect() was called: no reconnecting until connect()
    this.retryTimer = null;
    this.retryAt = null;
    this.lastClose = null;
  }

  get url() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}/ws/realtime/`;
  }

  // Opens the socket now (also cutting a reconnect countdown short); no-op while one is open.
  connect() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    this.retryCancel();
    this.stopped = false;
    this.onState("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    // A socket replaced by a newer one (disconnect then connect) no longer speaks for us.
    const current = () => socket === this.socket;
    socket.addEventListener("open", () => {
      if (!current()) return;
      this.retry = 0;
      this.onState("live");
      for (const [type, data] of this.subscriptions.values()) this.send(type, data);
      this.pinger = setInterval(() => this.send("ping", {}), 60000);
    });
    socket.addEventListener("message", (event) => {
      if (!current()) return;
      const message = JSON.parse(event.data);
      this.onFrame(message, event.data);
      if (message.type === "batch") message.data.updates.forEach((m) => this.onMessage(m));
      else this.onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (current()) this.closed(event);
    });
  }

  closed(event) {
    clearInterval(this.pinger);
    const close = { code: event.code, reason: event.reason, byClient: this.stopped };
    this.lastClose = close;
    if (this.stopped) {
      this.onState("closed", close);
      return;
    }
    const refused = REFUSED_CLOSE_CODES[event.code];
    if (refused) {
      this.onState(`closed: ${refused}`, close);
      return;
    }
    const delay = Math.min(30000, 1000 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.onState("reconnecting", { ...close, retryAt: this.retryAt });
  }

  retryCancel() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
  }

  // Closes for good (1000, normal): nothing reconnects until connect() is called again.
  disconnect() {
    this.stopped = true;
    const waiting = this.retryTimer !== null;
    this.retryCancel();
    clearInterval(this.pinger);
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) {
      this.socket.close(1000, "closed by the client");
    } else if (waiting) {
      // Between attempts there is no socket to close, so no close event will say it.
      this.onState("closed", { ...this.lastClose, byClient: true, cancelled: true });
    }
  }

  // Sends text exactly as given (even text that is not JSON); false when not connected.
  sendRaw(text) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(text);
    this.onSend(text);
    return true;
  }

  send(type, data) {
    return this.sendRaw(JSON.stringify({ type, data, timestamp: new Date().toISOString() }));
  }

  keep(key, type, data) {
    this.subscriptions.set(key, [type, data]);
    this.send(type, data);
  }
}

function showState(state) {
  const badge = document.getElementById("connection-state");
  if (!badge) return;
  badge.textContent = state;
  badge.className = `state state-${state.split(":")[0]}`;
}
