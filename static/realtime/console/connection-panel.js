// The connection panel: the state (live, reconnecting with its countdown, closed) with the
// last close code and what it means, the server's connection id, and which of Connect and
// Disconnect can be pressed.
"use strict";

const STATE_WORDS = {
  connecting: "connecting\u2026",
  live: "live",
  reconnecting: "reconnecting",
  closed: "closed",
};

// Live regions announce every write, even of the same text: write only changes.
function textSet(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

class ConnectionPanel {
  constructor(meanings) {
    this.meanings = meanings;
    this.element = (id) => document.getElementById(id);
    this.shown = { word: "connecting", detail: {}, trying: false };
    this.connection = null; // the server's `connection` data of the latest socket
    this.countdown = null;
  }

  // RealtimeSocket's onState: "connecting", "live", "reconnecting", "closed[: why]".
  stateChange(state, detail = {}) {
    const word = state.split(":")[0];
    // An attempt between countdowns is still "reconnecting": the last close stays on screen
    // and the status is not announced again on every try.
    if (word === "connecting" && this.shown.word === "reconnecting") {
      this.shown = { ...this.shown, trying: true };
    } else {
      this.shown = { word, detail, trying: false };
    }
    if (word === "connecting" || word === "live") this.connection = null;
    this.render();
  }

  connectionShow(data) {
    this.connection = data;
    this.connectionRender();
  }

  render() {
    const { word, detail, trying } = this.shown;
    const status = this.element("console-state");
    status.dataset.state = word;
    textSet(status.querySelector(".state-word"), STATE_WORDS[word] || word);
    const closed = word === "reconnecting" || word === "closed";
    textSet(this.element("console-close"), closed ? this.closeText(word, detail) : "");
    this.element("connect").disabled = word === "live" || word === "connecting" || trying;
    this.element("disconnect").disabled = word === "closed";
    showState(word); // the header badge
    this.connectionRender();
    clearInterval(this.countdown);
    this.countdown = null;
    if (word === "reconnecting" && !trying) {
      this.countdown = setInterval(() => this.retryRender(), 250);
    }
    this.retryRender();
  }

  // "· closed 1006: abnormal closure..." while reconnecting, "· 1000: normal" once closed.
  closeText(word, detail) {
    if (typeof detail.code !== "number") return "";
    const prefix = word === "reconnecting" ? "\u00b7 closed " : "\u00b7 ";
    let text = `${prefix}${detail.code}: ${this.meanings.meaning(detail.code)}`;
    if (detail.reason && !detail.byClient) text += ` (\u201c${detail.reason}\u201d)`;
    if (detail.cancelled) text += " \u00b7 reconnecting cancelled";
    else if (detail.byClient) text += " \u00b7 you disconnected";
    return text;
  }

  retryRender() {
    const { word, detail, trying } = this.shown;
    let text = "";
    if (word === "reconnecting") {
      const seconds = Math.max(1, Math.ceil((detail.retryAt - Date.now()) / 1000));
      text = trying ? "trying now\u2026" : `next try in ${seconds} s`;
    }
    textSet(this.element("console-retry"), text);
  }

  connectionRender() {
    let text = "";
    if (this.connection) {
      const { authenticated, user_id: userId, connection_id: id } = this.connection;
      const which = this.shown.word === "live" ? "Connection" : "Last connection";
      text = `${which} ${id} \u00b7 ${authenticated ? `user ${userId}` : "anonymous"}`;
    }
    textSet(this.element("connection-id"), text);
  }
}
