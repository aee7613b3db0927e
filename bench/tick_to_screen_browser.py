"""One signed-in dashboard in headless Chromium, recording when each price cell changed.

Two recorders run in the page, neither part of the application: a tap on `WebSocket` (added
before the page's scripts run) notes when each `asset_update` arrived (the dashboard asks for
batched frames: the server holds a burst of updates up to 50 ms and sends them as one `batch`,
so that wait is in the page's figures and not in the sockets'), and a MutationObserver on the
price cells notes when the page wrote a new quote into the DOM, and when the next
animation frame began (the paint that shows it). Times are `performance.timeOrigin +
performance.now()` in ms since the epoch: the same clock as the database's, on one machine.
A cell is matched to its saved quote by symbol and the "quoted HH:MM:SS" the page writes into
its title (the locale and time zone are fixed for that).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

CHROMIUM = (
    os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
)
# As tests/e2e/test_pages.py launches it: headless, loopback only.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DASHBOARD = "/realtime/dashboard/"
LOCALE, TIME_ZONE = "en-GB", "UTC"  # the title's time reads 17:21:10, in UTC

SOCKET_TAP = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__ttsSocket = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const at = now();
        if (typeof event.data !== "string") return;
        const message = JSON.parse(event.data);
        // The dashboard asks for batched frames: one per tick with all its updates.
        const updates = message.type === "batch" ? message.data.updates : [message];
        for (const update of updates)
          if (update.type === "asset_update")
            window.__ttsSocket.push([update.data.symbol, update.data.quote_time, at]);
      });
    }
  };
})();
"""

CELL_OBSERVER = """
(symbols) => {
  const now = () => performance.timeOrigin + performance.now();
  window.__ttsCells = [];
  const observer = new MutationObserver((records) => {
    const at = now();
    const cells = new Set(records.map((r) => r.target.parentElement?.closest('[data-field="price"]')
      || r.target.closest?.('[data-field="price"]')).filter(Boolean));
    const noted = [...cells].map((cell) => {
      const entry = [cell.closest("tr").dataset.symbol, cell.textContent, cell.title, at, null];
      window.__ttsCells.push(entry);
      return entry;
    });
    requestAnimationFrame(() => { const frame = now(); noted.forEach((e) => (e[4] = frame)); });
  });
  for (const symbol of symbols) {
    const cell = document.querySelector(`tr[data-symbol="${symbol}"] [data-field="price"]`);
    observer.observe(cell, { attributes: true, attributeFilter: ["title"], childList: true,
                             characterData: true, subtree: true });
  }
}
"""
DIGIT = "cell => /[0-9]/.test(cell.textContent)"


class Dashboard:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def watch(self, symbols: list[str]) -> None:
        """Wait until the page is live with a price in every cell, then start recording."""
        page = self.page
        await page.wait_for_selector("#feed-word:text-is('Live')", timeout=30_000)
        for symbol in symbols:
            cell = await page.wait_for_selector(
                f'tr[data-symbol="{symbol}"] [data-field="price"]', timeout=30_000
            )
            await page.wait_for_function(DIGIT, arg=cell, timeout=30_000)
        await page.evaluate(CELL_OBSERVER, symbols)

    async def records(self) -> dict[str, list[list[Any]]]:
        """{"socket": [[symbol, quote_time, ms]], "cells": [[symbol, text, title, ms, frame_ms]]}"""
        socket, cells = await self.page.evaluate("() => [window.__ttsSocket, window.__ttsCells]")
        return {"socket": socket, "cells": cells}


@asynccontextmanager
async def dashboard_open(base_url: str, session: str) -> AsyncIterator[Dashboard]:
    """The dashboard signed in with `session`, in a Chromium that is closed afterwards."""
    if CHROMIUM is None:
        raise SystemExit("Chromium is not installed: `apt-get install chromium`")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale=LOCALE, timezone_id=TIME_ZONE)
            await context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])
            await context.add_init_script(SOCKET_TAP)
            page = await context.new_page()
            await page.goto(f"{base_url}{DASHBOARD}")
            yield Dashboard(page)
        finally:
            await browser.close()
