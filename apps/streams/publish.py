"""Publishing encoded frames to Channels groups (and keeping them as snapshots for new
subscribers): all sends of a batch in one event-loop run.

`async_to_sync(group_send)` per message would start a thread, a loop and a Redis connection
each time (channels_redis #130); here a batch pays for that once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.streams.groups import GroupFrame, group_event
from apps.streams.snapshots import snapshots_store

logger = logging.getLogger("personal_finance.realtime.publish")


async def _send_all(frames: Sequence[GroupFrame]) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured (CHANNEL_LAYERS)")
    results = await asyncio.gather(
        *(layer.group_send(group, group_event(group, text)) for group, text in frames),
        return_exceptions=True,
    )
    failed = [result for result in results if isinstance(result, BaseException)]
    if failed:
        logger.error("%d of %d group sends failed: %r", len(failed), len(frames), failed[0])


def frames_publish_rollback_unsafe(frames: Sequence[GroupFrame]) -> None:
    """Keep each frame as its group's snapshot and publish it now, whether or not the
    surrounding transaction commits: call it after commit (`transaction.on_commit`), or from
    code that only reads."""
    if frames:
        batch = list(frames)
        snapshots_store(batch)
        async_to_sync(_send_all)(batch)
