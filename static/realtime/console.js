// The test console: send any message, list every frame received.
"use strict";

const frames = document.getElementById("frames");

function log(direction, message) {
  const item = document.createElement("li");
  item.className = `frame ${direction} type-${message.type || "raw"}`;
  item.textContent = `${direction === "in" ? "←" : "→"} ${JSON.stringify(message)}`;
  frames.prepend(item);
  while (frames.children.length > 500) frames.lastChild.remove();
}

const consoleSocket = new RealtimeSocket({ onState: showState, onMessage: (m) => log("in", m) });

document.getElementById("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const type = document.getElementById("message-type").value;
  let data;
  try {
    data = JSON.parse(document.getElementById("message-data").value || "{}");
  } catch (error) {
    log("out", { type: "local-error", data: { message: `data is not JSON: ${error.message}` } });
    return;
  }
  if (consoleSocket.send(type, data)) log("out", { type, data });
  else log("out", { type: "local-error", data: { message: "not connected" } });
});
document.getElementById("clear-log").addEventListener("click", () => frames.replaceChildren());
consoleSocket.connect();
