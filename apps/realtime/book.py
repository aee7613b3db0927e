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

from apps.realtime.registry import (
    ConnectionState,
    connections_sync,
    heartbeat_seconds,
    subscriptions_apply,
)
from apps.streams.watching import watch_touch_async

logger = logging.getLogger("personal_finance.realtime.book")

FLUSH_DELAY = 0.25
CLOSE_WAIT_SECONDS = 5.0


class BookedSocket(Protocol):
    last_seen: float

    def state(self) -> ConnectionState: ...

    async def idle_close(self) -> None: ...


Change = tuple[str, str, str | int, bool]  # (connection id, "asset" | "portfolio", member, added)


class LocalBook:
    def __init__(self) -> None:
        self.sockets: set[BookedSocket] = set()
        self._changes: list[Change] = []
        self._flush: asyncio.TimerHandle | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._closing: dict[BookedSocket, asyncio.Future[None]] = {}

    def add(self, socket: BookedSocket) -> None:
        self.sockets.add(socket)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.ensure_future(self._housekeeping())

    def remove(self, socket: BookedSocket) -> None:
        self.sockets.discard(socket)

    def subscribed(self, socket: BookedSocket, kind: str, member: str | int) -> None:
        self._change((socket.state().connection_id, kind, member, True))

    def unsubscribed(self, socket: BookedSocket, kind: str, member: str | int) -> None:
        self._change((socket.state().connection_id, kind, member, False))

    def _change(self, change: Change) -> None:
        """Write soon, batched with the other sockets' changes: one round trip per flush."""
        self._changes.append(change)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_DELAY, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush = None
        changes, self._changes = self._changes, []
        task = asyncio.ensure_future(self._write_changes(changes))
        task.add_done_callback(_log_failure)

    async def _write_changes(self, changes: list[Change]) -> None:
        await subscriptions_apply(changes)
        for kind in ("asset", "portfolio"):
            added = {member for _, k, member, is_add in changes if k == kind and is_add}
            await watch_touch_async(kind=kind, members=added)

    async def _heartbeat(self) -> None:
        states = [socket.state() for socket in self.sockets]
        await connections_sync(states)
        ttl = settings.REALTIME_WATCH_TTL
        await watch_touch_async(
            kind="asset", members={a for s in states for a in s.assets}, ttl=ttl
        )
        await watch_touch_async(
            kind="portfolio", members={p for s in states for p in s.portfolios}, ttl=ttl
        )

    async def _housekeeping(self) -> None:
        """Sweep for idle sockets and beat, neither ever waiting on one socket."""
        timeout = settings.WEBSOCKET_TIMEOUT
        sweep = max(0.5, min(5.0, timeout / 4, heartbeat_seconds()))
        last_beat = time.monotonic()
        while self.sockets:
            await asyncio.sleep(sweep)
            now = time.monotonic()
            for socket in [s for s in self.sockets if now - s.last_seen > timeout]:
                if socket not in self._closing:
                    self._closing[socket] = asyncio.ensure_future(self._close_idle(socket))
            if now - last_beat >= heartbeat_seconds():
                last_beat = now
                try:
                    await self._heartbeat()
                except Exception:
                    logger.exception("heartbeat: writing the connection registry failed")

    async def _close_idle(self, socket: BookedSocket) -> None:
        # A client that stopped reading never lets its close frame out: bound the wait, so
        # it costs this one task, never the sweep or the heartbeat.
        try:
            await asyncio.wait_for(socket.idle_close(), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            logger.info("idle socket did not take its close frame within %ss", CLOSE_WAIT_SECONDS)
        except Exception:
            logger.exception("closing an idle socket failed")
        finally:
            self._closing.pop(socket, None)


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
