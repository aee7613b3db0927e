// A reconnecting client for /ws/realtime/: resubscribes after every reconnect (the server
// then sends fresh snapshots, so nothing missed while away stays missing) and pings so an
// open page never hits the idle timeout.
"use strict";

class RealtimeSocket {
  constructor({ onMessage, onState }) {
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.subscriptions = new Map(); // key -> [type, data]
    this.retry = 0;
    this.socket = null;
  }

  get url() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}/ws/realtime/`;
  }

  connect() {
    this.onState("connecting");
    this.socket = new WebSocket(this.url);
    this.socket.addEventListener("open", () => {
      this.retry = 0;
      this.onState("live");
      for (const [type, data] of this.subscriptions.values()) this.send(type, data);
      this.pinger = setInterval(() => this.send("ping", {}), 60000);
    });
    this.socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "batch") message.data.updates.forEach((m) => this.onMessage(m));
      else this.onMessage(message);
    });
    this.socket.addEventListener("close", (event) => {
      clearInterval(this.pinger);
      const refused = { 4001: "not allowed", 4029: "too many open tabs" }[event.code];
      if (refused) {
        this.onState(`closed: ${refused}`);
        return;
      }
      const delay = Math.min(30000, 1000 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
      this.onState("reconnecting");
      setTimeout(() => this.connect(), delay);
    });
  }

  send(type, data) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type, data, timestamp: new Date().toISOString() }));
      return true;
    }
    return false;
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
