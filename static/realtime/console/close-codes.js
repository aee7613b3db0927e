// What a WebSocket close code means. The server's own codes come by name from
// /realtime/websocket-info/, so the console never disagrees with the server; the standard
// codes a browser reports on its own (RFC 6455, 7.4.1) fill in the rest.
"use strict";

const STANDARD_CLOSE_CODES = {
  1000: "normal closure",
  1001: "going away (the server is shutting down)",
  1005: "no status code in the close frame",
  1006: "abnormal closure: the connection dropped without a close frame",
  1011: "server error",
  1012: "service restart",
  1013: "try again later",
};

class CloseMeanings {
  constructor() {
    this.server = new Map(); // code -> meaning, from websocket-info
    this.problem = null;
  }

  // Reads websocket-info once; returns it, or null (then only the standard codes answer).
  async load(url) {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const info = await response.json();
      for (const [name, code] of Object.entries(info.close_codes || {})) {
        this.server.set(Number(code), name.replaceAll("_", " "));
      }
      return info;
    } catch (error) {
      this.problem = `websocket-info did not answer (${error.message})`;
      return null;
    }
  }

  meaning(code) {
    const known = this.server.get(code) || STANDARD_CLOSE_CODES[code];
    if (known) return known;
    if (code >= 4000 && this.problem) return `application code, meaning unknown: ${this.problem}`;
    return code >= 4000 ? "application code this server does not document" : "unknown code";
  }
}
