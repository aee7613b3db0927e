// A reconnecting client for /ws/realtime/: resubscribes after every reconnect (the server
// then sends fresh snapshots, so nothing missed while away stays missing) and pings so an
// open page never hits the idle timeout. The server answers every frame with exactly one
// control message, in order, so each answer is matched to what was sent: a subscription
// refused as `unavailable` (a backing service failed) is sent again a few seconds later.
"use strict";

// Close codes after which retrying cannot help: the server refused this client.
const REFUSED_CLOSE_CODES = { 4001: "not allowed", 4029: "too many open tabs" };
// The answers to a client frame (anything else is an update or the greeting).
const SOCKET_ANSWER_TYPES = new Set(["subscribed", "unsubscribed", "pong", "error"]);
// Error codes of a kept subscription that are retried, and after how long (ms, jittered).
const SOCKET_RESENT_CODES = new Set(["unavailable"]);
const SOCKET_RESEND_DELAY = 4000;

class RealtimeSocket {
  // onMessage(message): every message, a batch's updates one by one (what a page renders).
  // onState(state, detail): "connecting", "live", "reconnecting", "closed[: why]"; detail is
  // the last close {code, reason, byClient} and, while reconnecting, retryAt (epoch ms).
  // Optional: onFrame(message, text) gets every frame as received (a batch whole) and
  // onSend(text) every frame as sent, for pages that show the traffic itself;
  // onReply(key, message) the answer (`subscribed` or `error`) to each kept subscription.
  constructor({ onMessage, onState, onFrame, onSend, onReply } = {}) {
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onFrame = onFrame || (() => {});
    this.onSend = onSend || (() => {});
    this.onReply = onReply || (() => {});
    this.subscriptions = new Map(); // key -> [type, data]
    this.awaiting = []; // per frame sent on this socket, oldest first: its key or null
    this.resends = new Map(); // key -> timer of a subscription to send again
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
    // Every instance ever connected: a page module (the alert notice) opens its own only
    // where the page has none. A person's `alert` is re-dispatched as a DOM event for it.
    (RealtimeSocket.opened ||= new Set()).add(this);
    socket.addEventListener("message", (event) => {
      // Cheap test first: every frame is {"type": ..., ...} as encoded once by the server.
      if (socket === this.socket && event.data.startsWith('{"type":"alert"')) {
        const message = JSON.parse(event.data);
        if (message.type === "alert") {
          document.dispatchEvent(new CustomEvent("realtime:alert", { detail: message }));
        }
      }
    });
    // A socket replaced by a newer one (disconnect then connect) no longer speaks for us.
    const current = () => socket === this.socket;
    socket.addEventListener("open", () => {
      if (!current()) return;
      this.retry = 0;
      this.awaiting = [];
      this.resendsCancel();
      this.onState("live");
      for (const [key, [type, data]] of this.subscriptions) this.send(type, data, key);
      this.pinger = setInterval(() => this.send("ping", {}), 60000);
    });
    socket.addEventListener("message", (event) => {
      if (!current()) return;
      const message = JSON.parse(event.data);
      this.onFrame(message, event.data);
      if (SOCKET_ANSWER_TYPES.has(message.type)) this.replied(message);
      if (message.type === "batch") message.data.updates.forEach((m) => this.onMessage(m));
      else this.onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (current()) this.closed(event);
    });
  }

  // The answer to the oldest frame still waiting for one.
  replied(message) {
    const key = this.awaiting.shift();
    if (!key || !this.subscriptions.has(key)) return;
    if (message.type === "error" && SOCKET_RESENT_CODES.has(message.data && message.data.code)) {
      this.resendLater(key, SOCKET_RESEND_DELAY);
    }
    this.onReply(key, message);
  }

  // Sends a kept subscription again after `delay` ms (jittered), if still kept and connected.
  resendLater(key, delay) {
    clearTimeout(this.resends.get(key));
    const timer = setTimeout(
      () => {
        this.resends.delete(key);
        const kept = this.subscriptions.get(key);
        if (kept) this.send(kept[0], kept[1], key);
      },
      delay * (0.75 + Math.random() / 2),
    );
    this.resends.set(key, timer);
  }

  resendsCancel() {
    for (const timer of this.resends.values()) clearTimeout(timer);
    this.resends.clear();
  }

  closed(event) {
    clearInterval(this.pinger);
    this.resendsCancel();
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
  // `key` names the kept subscription the frame is for, so its answer reaches onReply.
  sendRaw(text, key = null) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(text);
    this.awaiting.push(key);
    this.onSend(text);
    return true;
  }

  send(type, data, key = null) {
    return this.sendRaw(JSON.stringify({ type, data, timestamp: new Date().toISOString() }), key);
  }

  // Subscribes now (if connected) and again after every reconnect.
  keep(key, type, data) {
    this.subscriptions.set(key, [type, data]);
    this.send(type, data, key);
  }

  // Stops keeping a subscription and sends `type` (its unsubscribe) with `data`.
  drop(key, type, data) {
    clearTimeout(this.resends.get(key));
    this.resends.delete(key);
    this.subscriptions.delete(key);
    this.send(type, data);
  }

  kept(key) {
    return this.subscriptions.has(key);
  }
}

function showState(state) {
  const badge = document.getElementById("connection-state");
  if (!badge) return;
  badge.textContent = state;
  badge.className = `state state-${state.split(":")[0]}`;
}
