// Copies an element's text: the Clipboard API where the page may use it (a secure context,
// permission given), else the old selection copy, else leaves the text selected to copy.
"use strict";

async function textCopy(element) {
  const text = element.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return "Copied";
    } catch {
      // refused (no permission, page not focused): try the selection below
    }
  }
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  try {
    if (document.execCommand("copy")) return "Copied";
  } catch {
    // execCommand may be missing, or throw, in some browsers
  }
  return "Selected: press Ctrl+C (\u2318C) to copy";
}
