"""One fan-out hub per server process: the process, not the socket, is the group member.

The hub owns one channel on the channel layer, joins a group when its first local socket
subscribes and leaves when the last one goes, reads its channel in one task and writes each
encoded frame straight to the ASGI send of every local socket that watches the group.
Consumers never receive ticks through their own channel queue (DESIGN.md, decisions 2, 5, 6).

A slow reader never delays the others: while a socket's previous write has not drained,
its updates are conflated (latest per group) and written when it drains, so its memory is
bounded by its subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from apps.streams.frames import batch_frame

logger = logging.getLogger("personal_finance.realtime.hub")

Send = Callable[[dict[str, Any]], Awaitable[None]]
# Batched sockets get one frame per burst of updates: a tick's group sends arrive over a few
# milliseconds, so a short window gathers them.
BATCH_WINDOW_SECONDS = 0.05


async def _finish_started(coroutine: Coroutine[Any, Any, Any], awaited: Any) -> None:
    """Drive to completion a coroutine that was started by hand and suspended on `awaited`."""
    while True:
        if awaited is None:
            await asyncio.sleep(0)
        else:
            await asyncio.wait([awaited])
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return


class Outlet:
    """One socket as the hub sees it: its ASGI send, and what waits while it is busy."""

    __slots__ = ("batch", "batching", "closed", "control", "drainer", "groups", "held", "pending",
                 "send", "writing")  # fmt: skip

    def __init__(self, send: Send) -> None:
        self.send = send
        self.groups: set[str] = set()
        self.held: set[str] = set()  # groups whose snapshot is being sent: updates wait
        self.pending: dict[str, str] = {}  # group -> latest frame, while busy or held
        self.control: list[str] = []  # acks, errors, pongs queued behind a slow write
        self.batching = False
        self.batch: dict[str, str] = {}
        self.writing = False
        self.drainer: asyncio.Future[None] | None = None
        self.closed = False

    def deliver(self, group: str, text: str) -> None:
        """An update for this socket: write it now, or keep it as the latest for its group."""
        if self.closed:
            return
        if self.writing or group in self.held:
            self.pending[group] = text
        elif self.batching:
            self.batch[group] = text
        else:
            self._write_now(text)

    def say(self, text: str) -> None:
        """A control message (ack, error, pong): never conflated, kept in order."""
        if self.closed:
            return
        if self.writing:
            self.control.append(text)
        else:
            self._write_now(text)

    def release(self, group: str) -> None:
        """The snapshot of `group` is out: let its updates through again."""
        self.held.discard(group)
        text = self.pending.pop(group, None) if not self.writing else None
        if text is not None:
            self._write_now(text)

    def flush_batch(self) -> None:
        if self.batch and not self.closed:
            texts, self.batch = list(self.batch.values()), {}
            frame = batch_frame(texts)
            if self.writing:
                self.control.append(frame)
            else:
                self._write_now(frame)

    def _write_now(self, text: str) -> None:
        # uvicorn's send completes without suspending while the transport accepts data; only
        # a full buffer makes it wait. So run it by hand and hand it to a task only then:
        # the common case costs no task, no scheduling.
        coroutine = self.send({"type": "websocket.send", "text": text})
        try:
            awaited = coroutine.send(None)  # type: ignore[attr-defined]  # an ASGI send coroutine
        except StopIteration:
            return
        except Exception:  # any failure of a send means the socket is gone
            self.closed = True
            return
        self.writing = True
        # Kept on the outlet: the event loop holds tasks only weakly.
        self.drainer = asyncio.ensure_future(self._drain(coroutine, awaited))  # type: ignore[arg-type]

    async def _drain(self, coroutine: Coroutine[Any, Any, Any], awaited: Any) -> None:
        try:
            await _finish_started(coroutine, awaited)
            while (self.control or self.pending) and not self.closed:
                control, self.control = self.control, []
                ready = {g: t for g, t in self.pending.items() if g not in self.held}
                for group in ready:
                    del self.pending[group]
                for text in control + list(ready.values()):
                    await self.send({"type": "websocket.send", "text": text})
                if not control and not ready:
                    break
        except Exception:  # the socket went away while we wrote
            self.closed = True
        finally:
            self.writing = False


class FanoutHub:
    """The process's single subscriber to the channel layer."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel = ""
        self.members: dict[str, set[Outlet]] = {}
        # The last frame of every group this process is in: the snapshot for its next local
        # subscriber, with no round trip (the process hears every publish while it is in).
        self.latest: dict[str, str] = {}
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._reader: asyncio.Task[None] | None = None
        self._batch_flush: asyncio.TimerHandle | None = None
        self._batching: set[Outlet] = set()
        self._starting = asyncio.Lock()
        self.frames_in = 0

    async def start(self) -> None:
        async with self._starting:
            if self._reader is None:
                self.channel = await self.layer.new_channel("hub.")
                self._reader = asyncio.ensure_future(self._read())

    async def subscribe(self, outlet: Outlet, group: str) -> None:
        """Route `group` to the outlet; the first local watcher joins the group for the process."""
        outlet.groups.add(group)
        async with self._lock(group):
            watchers = self.members.get(group)
            if watchers is None:
                await self.layer.group_add(group, self.channel)
                watchers = self.members[group] = set()
            watchers.add(outlet)

    def remember(self, group: str, text: str | None) -> None:
        """Keep a snapshot read elsewhere, unless a newer frame already arrived."""
        if text is not None and group in self.members:
            self.latest.setdefault(group, text)

    async def unsubscribe(self, outlet: Outlet, group: str) -> None:
        outlet.groups.discard(group)
        outlet.pending.pop(group, None)
        outlet.batch.pop(group, None)
        async with self._lock(group):
            watchers = self.members.get(group)
            if watchers is None:
                return
            watchers.discard(outlet)
            if not watchers:
                del self.members[group]
                self.latest.pop(group, None)
                await self.layer.group_discard(group, self.channel)

    async def detach(self, outlet: Outlet) -> None:
        outlet.closed = True
        self._batching.discard(outlet)
        for group in list(outlet.groups):
            await self.unsubscribe(outlet, group)

    def batching_set(self, outlet: Outlet, enabled: bool) -> None:
        outlet.batching = enabled
        if enabled:
            self._batching.add(outlet)
        else:
            self._batching.discard(outlet)
            outlet.flush_batch()

    def _lock(self, group: str) -> asyncio.Lock:
        lock = self._group_locks.get(group)
        if lock is None:
            lock = self._group_locks[group] = asyncio.Lock()
        return lock

    async def _read(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub: receiving from the channel layer failed; retrying")
                await asyncio.sleep(1)
                continue
            self.fan_out(event.get("group", ""), event.get("text", ""))

    def fan_out(self, group: str, text: str) -> None:
        self.frames_in += 1
        watchers = self.members.get(group)
        if not watchers or not text:
            return
        self.latest[group] = text
        for outlet in watchers:
            outlet.deliver(group, text)
        if self._batching and self._batch_flush is None:
            loop = asyncio.get_running_loop()
            self._batch_flush = loop.call_later(BATCH_WINDOW_SECONDS, self._flush_batches)

    def _flush_batches(self) -> None:
        self._batch_flush = None
        for outlet in self._batching:
            outlet.flush_batch()


_hubs: dict[asyncio.AbstractEventLoop, FanoutHub] = {}


async def hub_get() -> FanoutHub:
    """The hub of the running event loop (one per server process), started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("CHANNEL_LAYERS is not configured")
        hub = _hubs[loop] = FanoutHub(layer)
    await hub.start()
    return hub
