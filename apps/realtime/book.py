"""The sockets of this server process, and the housekeeping they need.

Every third of REALTIME_CONNECTION_TTL: renew their registry entries and what they watch.
Often: close the ones silent longer than WEBSOCKET_TIMEOUT. Shortly after a subscription
changes: write it, so the status figures and the pipeline's watch list follow within a
fraction of a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from django.conf import settings

from apps.realtime.registry import ConnectionState, connections_sync, heartbeat_seconds
from apps.realtime.watching import watch_touch_async

logger = logging.getLogger("personal_finance.realtime.book")

FLUSH_DELAY = 0.25


class BookedSocket(Protocol):
    last_seen: float

    def state(self) -> ConnectionState: ...

    async def idle_close(self) -> None: ...


class LocalBook:
    def __init__(self) -> None:
        self.sockets: set[BookedSocket] = set()
        self._dirty: set[BookedSocket] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._loop_task: asyncio.Task[None] | None = None

    def add(self, socket: BookedSocket) -> None:
        self.sockets.add(socket)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.ensure_future(self._housekeeping())

    def remove(self, socket: BookedSocket) -> None:
        self.sockets.discard(socket)
        self._dirty.discard(socket)

    def changed(self, socket: BookedSocket) -> None:
        """A socket's subscriptions changed: write them soon, batched with others."""
        self._dirty.add(socket)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_DELAY, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush = None
        dirty, self._dirty = self._dirty, set()
        task = asyncio.ensure_future(self._write([s for s in dirty if s in self.sockets]))
        task.add_done_callback(_log_failure)

    async def _write(self, sockets: list[BookedSocket]) -> None:
        if not sockets:
            return
        states = [socket.state() for socket in sockets]
        await connections_sync(states)
        assets = {symbol for state in states for symbol in state.assets}
        portfolios = {pid for state in states for pid in state.portfolios}
        ttl = settings.REALTIME_WATCH_TTL
        await watch_touch_async(kind="asset", members=assets, ttl=ttl)
        await watch_touch_async(kind="portfolio", members=portfolios, ttl=ttl)

    async def _housekeeping(self) -> None:
        timeout = settings.WEBSOCKET_TIMEOUT
        sweep = max(0.5, min(5.0, timeout / 4, heartbeat_seconds()))
        last_beat = time.monotonic()
        while self.sockets:
            await asyncio.sleep(sweep)
            now = time.monotonic()
            for socket in [s for s in self.sockets if now - s.last_seen > timeout]:
                await socket.idle_close()
            if now - last_beat >= heartbeat_seconds():
                last_beat = now
                try:
                    await self._write(list(self.sockets))
                except Exception:
                    logger.exception("heartbeat: writing the connection registry failed")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception():
        logger.error("writing subscriptions failed: %r", task.exception())


_books: dict[asyncio.AbstractEventLoop, LocalBook] = {}


def book_get() -> LocalBook:
    loop = asyncio.get_running_loop()
    book = _books.get(loop)
    if book is None:
        book = _books[loop] = LocalBook()
    return book
