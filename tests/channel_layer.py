"""Listening on the real channel layer from a test: what reaches a group while code runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from channels.layers import get_channel_layer


def frames_heard(groups: list[str], publish: Callable[[], object]) -> dict[str, list[Any]]:
    """What the real channel layer delivers to each group while `publish` runs."""

    async def listen() -> dict[str, list[Any]]:
        layer = get_channel_layer()
        channels = {group: await layer.new_channel() for group in groups}
        for group, channel in channels.items():
            await layer.group_add(group, channel)
        await asyncio.to_thread(publish)
        heard: dict[str, list[Any]] = {group: [] for group in groups}
        for group, channel in channels.items():
            while True:
                try:
                    event = await asyncio.wait_for(layer.receive(channel), 0.5)
                except TimeoutError:
                    break
                heard[group].append(orjson.loads(event["text"]))
            await layer.group_discard(group, channel)
        return heard

    return asyncio.run(listen())
