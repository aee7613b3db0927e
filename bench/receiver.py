"""One subscriber on the real channel layer: a channel joined to a few groups, counting frames."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer

from apps.streams.groups import asset_group

STOP = "bench.stop"


class GroupReceiver:
    """Runs its own event loop in a thread, as an ASGI server process would."""

    def __init__(self, groups: list[str]) -> None:
        self.groups = groups
        self.frames: Counter[str] = Counter()  # per group
        self.last_data: dict[str, dict[str, Any]] = {}
        self.channel = ""
        self._layer = _layer()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="bench-receiver", daemon=True)

    def start(self, timeout: float = 10) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the receiver did not join its groups in time")

    def received(self) -> int:
        with self._lock:
            return sum(self.frames.values())

    def wait_for(self, expected: int, timeout: float) -> bool:
        """Poll until `expected` frames arrived; False when the deadline passed first."""
        deadline = time.monotonic() + timeout
        while self.received() < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received() >= expected

    def stop(self, timeout: float = 10) -> None:
        # Cancelling receive() would unsubscribe the channel: a message ends the loop instead.
        async_to_sync(self._layer.send)(self.channel, {"type": STOP})
        self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        self.channel = await self._layer.new_channel()
        for group in self.groups:
            await self._layer.group_add(group, self.channel)
        self._ready.set()
        while (message := await self._layer.receive(self.channel))["type"] != STOP:
            self._count(message)
        for group in self.groups:
            await self._layer.group_discard(group, self.channel)
        await self._layer.flush()

    def _count(self, message: dict[str, Any]) -> None:
        frame = orjson.loads(message["text"])
        group = str(message.get("group") or asset_group(frame["data"]["symbol"]))
        with self._lock:
            self.frames[group] += 1
            self.last_data[group] = frame.get("data", {})


def _layer() -> BaseChannelLayer:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured (CHANNEL_LAYERS)")
    return layer
