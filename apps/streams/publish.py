"""Publishing encoded frames to Channels groups (and keeping them as snapshots for new
subscribers): all sends of a batch in one event-loop run.

`async_to_sync(group_send)` per message would start a thread, a loop and a Redis connection
each time (channels_redis #130); here a batch pays for that once.

A publish is best-effort and bounded: the data is already saved, and every update is the
latest state, healed by the next one. The channel layer's connection has no socket timeout
(its subscribers block on reads), so a stalled Redis would hold the calling task until its
hard time limit; the whole send is given PUBLISH_TIMEOUT_SECONDS (plus a little per frame,
a 500-group tick takes 0.2 s), then dropped and logged, and the task goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from apps.streams.groups import GroupFrame, group_carries_events, group_event
from apps.streams.snapshots import snapshots_store

logger = logging.getLogger("personal_finance.realtime.publish")

PUBLISH_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_PER_FRAME = 0.002  # ten times what a send takes when Redis is well


def publish_timeout(frames: int) -> float:
    return PUBLISH_TIMEOUT_SECONDS + PUBLISH_TIMEOUT_PER_FRAME * frames


async def _send_all(frames: Sequence[GroupFrame]) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured (CHANNEL_LAYERS)")
    timeout = publish_timeout(len(frames))
    sends = asyncio.gather(
        *(layer.group_send(group, group_event(group, text)) for group, text in frames),
        return_exceptions=True,
    )
    try:
        results = await asyncio.wait_for(sends, timeout)
    except TimeoutError:
        logger.error(
            "publishing %d frames took over %.1f s (Redis stalled?): dropped; the snapshots "
            "are kept and the next update heals the subscribers",
            len(frames), timeout,
        )  # fmt: skip
        return
    failed = [result for result in results if isinstance(result, BaseException)]
    if failed:
        logger.error("%d of %d group sends failed: %r", len(failed), len(frames), failed[0])


def frames_publish_rollback_unsafe(frames: Sequence[GroupFrame]) -> None:
    """Keep each frame as its group's snapshot and publish it now, whether or not the
    surrounding transaction commits: call it after commit (`transaction.on_commit`), or from
    code that only reads. Never raises for Redis trouble, and returns within
    `publish_timeout(len(frames))` plus the snapshot store's socket timeouts."""
    if not frames:
        return
    batch = list(frames)
    # A person's events (alerts) are not states: a new socket must not be sent an old one.
    states = [frame for frame in batch if not group_carries_events(frame[0])]
    try:
        snapshots_store(states)
    except RedisError as error:
        logger.error("storing %d snapshots failed: %r", len(batch), error)
    async_to_sync(_send_all)(batch)
