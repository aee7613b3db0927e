"""The sockets of this server process, and the housekeeping they need.

Every third of REALTIME_CONNECTION_TTL: renew their registry entries and what they watch.
Often: close the ones silent longer than WEBSOCKET_TIMEOUT. Shortly after a subscription
changes: write it, so the status figures and the pipeline's watch list follow within a
fraction of a second.

Redis may lose all of that while the sockets stay open (a restart, a flush): every second
the process checks its registry beacon, and writes its connections and watches whole again
as soon as the beacon is gone or Redis answers again after a failed write, rather than at
the next heartbeat. Until then the status figures miss this process's sockets and the
pipeline skips the symbols only they watch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from django.conf import settings

from apps.realtime.protocol import failure_code
from apps.realtime.registry import (
    ConnectionState,
    connections_sync,
    heartbeat_seconds,
    registry_intact,
    subscriptions_apply,
)
from apps.streams.watching import watch_touch_async

logger = logging.getLogger("personal_finance.realtime.book")

FLUSH_DELAY = 0.25
CLOSE_WAIT_SECONDS = 5.0
# How often the registry beacon is checked: one EXISTS per process, so cheap; it bounds how
# long the figures and the watch set stay lost after Redis comes back empty.
REGISTRY_CHECK_SECONDS = 1.0
# A registry round trip that takes longer is given up, the write tried again at the next
# check. Per round trip, not per heartbeat: 20,000 sockets take 40 of them.
REGISTRY_WRITE_TIMEOUT = 10.0


class BookedSocket(Protocol):
    connection_id: str
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
        self._change((socket.connection_id, kind, member, True))

    def unsubscribed(self, socket: BookedSocket, kind: str, member: str | int) -> None:
        self._change((socket.connection_id, kind, member, False))

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
        await connections_sync(states, round_trip_timeout=REGISTRY_WRITE_TIMEOUT)
        ttl = settings.REALTIME_WATCH_TTL
        async with asyncio.timeout(REGISTRY_WRITE_TIMEOUT):
            await watch_touch_async(
                kind="asset", members={a for s in states for a in s.assets}, ttl=ttl
            )
        async with asyncio.timeout(REGISTRY_WRITE_TIMEOUT):
            await watch_touch_async(
                kind="portfolio", members={p for s in states for p in s.portfolios}, ttl=ttl
            )

    async def _housekeeping(self) -> None:
        """Sweep for idle sockets and keep the registry, neither ever waiting on the other
        nor on one socket."""
        await asyncio.gather(self._sweep(), self._registry_keep())

    async def _sweep(self) -> None:
        timeout = settings.WEBSOCKET_TIMEOUT
        every = max(0.5, min(5.0, timeout / 4, heartbeat_seconds()))
        while self.sockets:
            await asyncio.sleep(every)
            now = time.monotonic()
            for socket in [s for s in self.sockets if now - s.last_seen > timeout]:
                if socket not in self._closing:
                    self._closing[socket] = asyncio.ensure_future(self._close_idle(socket))

    async def _registry_keep(self) -> None:
        """Beat every heartbeat_seconds(); beat at once when Redis lost the registry, and
        every check while beats fail (Redis down), so it is whole again a second after."""
        last_beat: float | None = None  # the first beat is right away: it writes the beacon
        failing = False
        while self.sockets:
            try:
                due = last_beat is None or time.monotonic() - last_beat >= heartbeat_seconds()
                if not due and not failing:
                    async with asyncio.timeout(REGISTRY_WRITE_TIMEOUT):
                        intact = await registry_intact()
                    if not intact:
                        logger.warning(
                            "heartbeat: the registry was lost (Redis restarted or flushed?); "
                            "writing %d connections again", len(self.sockets),
                        )  # fmt: skip
                        due = True
                if due or failing:
                    await self._heartbeat()
                    last_beat = time.monotonic()
                    if failing:
                        logger.warning(
                            "heartbeat: registry written again (%d connections)",
                            len(self.sockets),
                        )
                    failing = False
            except Exception as error:
                if failure_code(error) is None:
                    logger.exception("heartbeat: writing the connection registry failed")
                elif not failing:  # an outage: one line now, one when written again
                    logger.warning(
                        "heartbeat: registry unavailable: %s: %s", type(error).__name__, error
                    )
                failing = True
            await asyncio.sleep(REGISTRY_CHECK_SECONDS)

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
    error = None if task.cancelled() else task.exception()
    if error is not None:
        logger.error("writing subscriptions failed: %s: %s", type(error).__name__, error)


_books: dict[asyncio.AbstractEventLoop, LocalBook] = {}


def book_get() -> LocalBook:
    loop = asyncio.get_running_loop()
    book = _books.get(loop)
    if book is None:
        book = _books[loop] = LocalBook()
    return book
