"""One socket as the fan-out hub sees it: its ASGI send, and what waits while it is busy.

A slow reader never delays the others: while a socket's previous write has not drained,
its updates are conflated (latest per group) and written when it drains, so its memory is
bounded by its subscriptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from apps.streams.frames import batch_frame

Send = Callable[[dict[str, Any]], Awaitable[None]]


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
        # Dicts used as sets (values None): a set of 20 names takes 2 KiB, a dict of str keys
        # under 0.5 KiB, and an idle socket's memory is what limits a process (issue 17).
        self.groups: dict[str, None] = {}
        self.held: dict[str, None] = {}  # groups whose snapshot is being sent: updates wait
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
        self.held.pop(group, None)
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
