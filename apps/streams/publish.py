"""Publishing encoded frames to Channels groups, and keeping them as snapshots for new
subscribers: a whole batch in one pipelined Redis round trip per Redis server.

Not `group_send`: the pub/sub layer PUBLISHes one message at a time under a per-shard lock, so
even gathered sends pay a round trip each (137-180 ms for a 500-group tick against 11-23 ms
pipelined, measured), and `async_to_sync` adds a thread and an event loop per call. Our callers
are sync (Celery tasks), so a sync redis-py pipeline needs no event loop at all: each server is
sent its snapshots (a script SETs them), then its frames' PUBLISHes (a subscriber that hears a
frame and reads the snapshot finds it), in one pipeline. What is published, and where, is the
layer's own wire (`layer_wire`), so the servers' hubs still receive through its `receive`.

A publish is best-effort and bounded: the data is already saved, and every update is the
latest state, healed by the next one. Our client's socket timeout is PUBLISH_TIMEOUT_SECONDS
(the layer's connections have none: its subscribers block on reads), so a stalled Redis costs
that once per server, then the batch is dropped and logged, and the task goes on. A dropped
connection (Redis restarted) is retried once; a timeout never is (it would double the stall).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import redis
from django.conf import settings
from redis.backoff import ExponentialWithJitterBackoff
from redis.client import Pipeline
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout
from redis.retry import Retry

from apps.streams.groups import GroupFrame, group_carries_events, group_event
from apps.streams.layer_wire import LayerWire, layer_wire
from apps.streams.snapshots import snapshots_queue
from config.redis_client import SOCKET_OPTIONS, redis_key

logger = logging.getLogger("personal_finance.realtime.publish")

PUBLISH_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_PER_FRAME = 0.002  # about fifty times what a frame costs when Redis is well


def publish_timeout(frames: int, *, servers: int = 1) -> float:
    """The longest a publish of `frames` takes: one socket timeout per stalled server, plus
    an allowance for sending a large batch."""
    return servers * PUBLISH_TIMEOUT_SECONDS + PUBLISH_TIMEOUT_PER_FRAME * frames


@lru_cache(maxsize=16)
def publish_client(url: str) -> redis.Redis:
    """One client per Redis server and process, kept: a publish opens no connection."""
    pool = redis.ConnectionPool.from_url(
        url,
        **{**SOCKET_OPTIONS, "socket_timeout": PUBLISH_TIMEOUT_SECONDS},
        retry=Retry(
            ExponentialWithJitterBackoff(base=0.01, cap=0.5),
            1,
            supported_errors=(redis.exceptions.ConnectionError,),
        ),
        client_name=redis_key("publisher"),  # who holds the connection, in CLIENT LIST
    )
    return redis.Redis(connection_pool=pool)


@dataclass
class ServerBatch:
    """What one Redis server is sent for a batch."""

    snapshots: list[GroupFrame] = field(default_factory=list)
    messages: list[tuple[str, bytes]] = field(default_factory=list)  # (Redis channel, payload)


def server_batches(frames: Sequence[GroupFrame], wire: LayerWire) -> dict[str, ServerBatch]:
    """Each frame's snapshot for the store and its message for its group's shard, by URL."""
    batches = {settings.REDIS_URL: ServerBatch()}  # the snapshot store is written first
    for group, text in frames:
        # A person's events (alerts) are not states: a new socket must not be sent an old one.
        if not group_carries_events(group):
            batches[settings.REDIS_URL].snapshots.append((group, text))
        channel = wire.group_channel(group)
        payload = wire.serialize(group_event(group, text))
        batches.setdefault(wire.shard_url(channel), ServerBatch()).messages.append(
            (channel, payload)
        )
    return batches


def server_batch_pipeline(url: str, batch: ServerBatch) -> Pipeline:
    """The snapshots first (a subscriber that hears a frame and reads one finds it), then the
    frames, unsent."""
    pipe = publish_client(url).pipeline(transaction=False)
    snapshots_queue(pipe, batch.snapshots)
    for channel, payload in batch.messages:
        pipe.publish(channel, payload)
    return pipe


def server_batch_send(url: str, batch: ServerBatch) -> None:
    """One round trip; logs, never raises, for Redis trouble."""
    pipe = server_batch_pipeline(url, batch)
    frames, snapshots = len(batch.messages), len(batch.snapshots)
    try:
        replies = pipe.execute(raise_on_error=False) if len(pipe) else []
    except RedisTimeout:
        logger.error(
            "publishing %d frames took over %.1f s (Redis stalled?): dropped, with %d "
            "snapshots; the next update heals the subscribers",
            frames, PUBLISH_TIMEOUT_SECONDS, snapshots,
        )  # fmt: skip
        return
    except (RedisError, OSError) as error:
        logger.error(
            "publishing %d frames and %d snapshots failed: %s: %s",
            frames, snapshots, type(error).__name__, error,
        )  # fmt: skip
        return
    failed = [reply for reply in replies if isinstance(reply, Exception)]
    if failed:
        logger.error(
            "%d of %d publish commands failed, the first with %s: %s",
            len(failed), len(replies), type(failed[0]).__name__, failed[0],
        )  # fmt: skip


def frames_publish_rollback_unsafe(frames: Sequence[GroupFrame]) -> None:
    """Keep each frame as its group's snapshot and publish it now, whether or not the
    surrounding transaction commits: call it after commit (`transaction.on_commit`), or from
    code that only reads. Never raises for Redis trouble, and returns within
    `publish_timeout(len(frames), servers=...)` for the Redis servers it writes to."""
    if not frames:
        return
    for url, batch in server_batches(frames, layer_wire()).items():
        server_batch_send(url, batch)
