"""The snapshot a new subscriber gets: this process's memory, then the shared store, then
(for a symbol whose cached frame expired) the saved row, through the market's selector."""

from __future__ import annotations

from channels.db import database_sync_to_async

from apps.market.selectors import asset_frame_get
from apps.realtime.hub import FanoutHub
from apps.streams.snapshots import snapshot_aget

_asset_frame_get = database_sync_to_async(asset_frame_get)


async def snapshot_read(hub: FanoutHub, group: str, *, symbol: str | None = None) -> str | None:
    """The latest frame of `group`, or None when nothing is known yet."""
    text = hub.latest.get(group)
    if text is None:
        text = await snapshot_aget(group)
        if text is None and symbol is not None:
            text = await _asset_frame_get(symbol)
        hub.remember(group, text)
    return text
