// Received messages counted by type, in a table sorted by type; a batch counts once as
// `batch` and each update it carries under its own type.
"use strict";

class MessageCounters {
  constructor(table) {
    this.body = table.tBodies[0];
    this.rows = new Map(); // type -> {row, count}
  }

  add(type) {
    let entry = this.rows.get(type);
    if (!entry) {
      entry = { row: this.rowCreate(type), count: 0 };
      this.rows.set(type, entry);
      const after = [...this.rows.keys()].sort().find((other) => other > type);
      this.body.insertBefore(entry.row, after ? this.rows.get(after).row : null);
    }
    entry.count += 1;
    entry.row.querySelector(".count").textContent = String(entry.count);
  }

  rowCreate(type) {
    const row = document.createElement("tr");
    row.dataset.type = type;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = type;
    const count = document.createElement("td");
    count.className = "count num";
    row.append(name, count);
    return row;
  }

  clear() {
    this.rows.clear();
    this.body.replaceChildren();
  }
}
