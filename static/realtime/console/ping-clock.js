// Ping round trips. A pong carries no ping id, but the server answers every frame it gets
// with exactly one reply (pong, subscribed, unsubscribed or error), in order: so every
// frame sent is queued, each reply takes its request off the queue, and a pong answers the
// oldest ping outstanding. An error that names no request (invalid JSON, rate limited, too
// large) answers the oldest frame, whatever it was; a rate-limited ping is so never timed.
"use strict";

const REPLY_TYPES = new Set(["pong", "subscribed", "unsubscribed", "error"]);
const LATENCY_SAMPLES = 10000; // the session's median; at most a week of the 60 s pings

class PingClock {
  constructor() {
    this.outstanding = []; // {ping: boolean, at: ms}, oldest first
    this.samples = [];
    this.last = null;
  }

  // A new connection: nothing sent on the old one will be answered.
  reset() {
    this.outstanding = [];
  }

  sent(text, at) {
    let type = null;
    try {
      type = JSON.parse(text).type;
    } catch {
      // not JSON, or not an object: the server still answers it, with an error
    }
    this.outstanding.push({ ping: type === "ping", at });
  }

  // The round trip in ms when `message` is the pong of a timed ping, else null.
  received(message, at) {
    if (!REPLY_TYPES.has(message.type)) return null;
    const index = this.answeredIndex(message);
    if (index < 0) return null;
    // Anything older than the request answered was never answered: drop it with it.
    const request = this.outstanding.splice(0, index + 1).pop();
    if (message.type !== "pong") return null;
    this.last = at - request.at;
    this.samples.push(this.last);
    if (this.samples.length > LATENCY_SAMPLES) this.samples.shift();
    return this.last;
  }

  answeredIndex(message) {
    let ping = message.type === "pong";
    if (message.type === "error") {
      const requestType = (message.data || {}).request_type;
      if (typeof requestType !== "string") return this.outstanding.length ? 0 : -1;
      ping = requestType === "ping";
    }
    return this.outstanding.findIndex((request) => request.ping === ping);
  }

  median() {
    if (!this.samples.length) return null;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}
