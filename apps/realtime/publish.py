"""Publishing encoded frames to Channels groups: all sends of a batch in one event-loop run.

`async_to_sync(group_send)` per message would start a thread, a loop and a Redis connection
each time (channels_redis #130); here a batch pays for that once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from apps.realtime.groups import group_event

logger = logging.getLogger("personal_finance.realtime.publish")

GroupFrame = tuple[str, str]  # (group name, encoded frame text)


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
    """Publish now, whether or not the surrounding transaction commits."""
    if frames:
        async_to_sync(_send_all)(list(frames))


def frames_publish_on_commit(frames: Sequence[GroupFrame]) -> None:
    """Publish once the current transaction commits (at once outside a transaction)."""
    if frames:
        batch = list(frames)
        transaction.on_commit(lambda: frames_publish_rollback_unsafe(batch))
