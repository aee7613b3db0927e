// The frame log: every frame sent and received with its time to the millisecond, newest
// first, at most `limit` kept. A filter (a direction or a message type) hides what does not
// match; pausing holds new frames (as many as the log keeps) until resumed.
"use strict";

const clockTime = (date) =>
  [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, "0"))
    .join(":") + `.${String(date.getMilliseconds()).padStart(3, "0")}`;

function logElement(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

class FrameLog {
  constructor({ list, filter, pause, held, summary, limit = 500 }) {
    this.list = list;
    this.filter = filter;
    this.pause = pause;
    this.heldNote = held;
    this.summary = summary;
    this.limit = limit;
    this.held = []; // items that came while paused, oldest first
    this.paused = false;
    filter.addEventListener("change", () => this.filterApply());
    pause.addEventListener("click", () => this.pauseToggle());
    this.summaryShow();
  }

  // direction "in" or "out"; message: the parsed text, undefined when it is not JSON.
  add(direction, text, message, at = new Date()) {
    const item = this.itemCreate(direction, text, message, at);
    if (this.paused) {
      this.held.push(item);
      if (this.held.length > this.limit) this.held.shift();
      this.heldShow();
      return;
    }
    this.insert(item);
    this.summaryShow();
  }

  insert(item) {
    item.hidden = !this.matches(item);
    this.list.prepend(item);
    while (this.list.children.length > this.limit) this.list.lastElementChild.remove();
  }

  itemCreate(direction, text, message, at) {
    const type = FrameLog.typeOf(message);
    const item = logElement("li", `frame ${direction} type-${type}`);
    item.dataset.direction = direction === "in" ? "received" : "sent";
    const time = logElement("time", "", clockTime(at));
    time.dateTime = at.toISOString();
    const arrow = logElement("span", "frame-dir");
    arrow.append(
      logElement("span", "", direction === "in" ? "\u2190" : "\u2192"),
      logElement("span", "visually-hidden", direction === "in" ? " received" : " sent")
    );
    arrow.firstChild.setAttribute("aria-hidden", "true");
    const types = [type];
    if (type === "batch") {
      const updates = (message.data && message.data.updates) || [];
      const parts = logElement("ol", "frame-parts");
      for (const update of updates) {
        const partType = FrameLog.typeOf(update);
        if (!types.includes(partType)) types.push(partType);
        const part = logElement("li", `frame-part type-${partType}`);
        part.append(
          logElement("span", "frame-type", partType),
          logElement("code", "frame-text", JSON.stringify(update))
        );
        parts.append(part);
      }
      const count = `${updates.length} update${updates.length === 1 ? "" : "s"}`;
      item.append(time, arrow, logElement("span", "frame-type", `batch \u00b7 ${count}`), parts);
    } else {
      const label = message === undefined ? "not JSON" : type;
      const body = logElement("code", "frame-text", text);
      item.append(time, arrow, logElement("span", "frame-type", label), body);
    }
    item.dataset.types = types.join(" ");
    return item;
  }

  static typeOf(message) {
    const type = message && typeof message === "object" ? message.type : null;
    return typeof type === "string" && /^[\w-]{1,40}$/.test(type) ? type : "raw";
  }

  matches(item) {
    const wanted = this.filter.value;
    if (!wanted) return true;
    if (wanted === "sent" || wanted === "received") return item.dataset.direction === wanted;
    return item.dataset.types.split(" ").includes(wanted);
  }

  filterApply() {
    for (const item of this.list.children) item.hidden = !this.matches(item);
    this.summaryShow();
  }

  pauseToggle() {
    this.paused = !this.paused;
    this.pause.setAttribute("aria-pressed", String(this.paused));
    if (!this.paused) {
      for (const item of this.held.splice(0)) this.insert(item);
      this.summaryShow();
    }
    this.heldShow();
  }

  heldShow() {
    this.heldNote.textContent = this.paused ? `${this.held.length} held` : "";
  }

  clear() {
    this.list.replaceChildren();
    this.held = [];
    this.heldShow();
    this.summaryShow();
  }

  summaryShow() {
    const total = this.list.children.length;
    const shown = [...this.list.children].filter((item) => !item.hidden).length;
    this.summary.textContent = shown === total ? `${total} frames` : `${shown} of ${total} frames`;
  }
}
