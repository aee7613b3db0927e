"""Who is watching what, across every server process: sorted sets in Redis scored by expiry.

The WebSocket servers refresh their sockets' subscriptions here on every heartbeat; the
pipeline reads them to push only portfolios someone watches and to refresh recently
watched symbols. An entry a crashed process left behind expires on its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings

from config.redis_client import async_redis_client, redis_client, redis_key


def _key(kind: str) -> str:
    return redis_key("watch", kind)


def _expiries(members: Iterable[str | int], ttl: int | None) -> dict[str, float]:
    expires = time.time() + (settings.REALTIME_WATCH_TTL if ttl is None else ttl)
    return {str(member): expires for member in members}


def watch_touch(*, kind: str, members: Iterable[str | int], ttl: int | None = None) -> None:
    """Mark members (symbols or portfolio ids) as watched for REALTIME_WATCH_TTL seconds."""
    if mapping := _expiries(members, ttl):
        redis_client().zadd(_key(kind), mapping, gt=True)


def watched(kind: str) -> set[str]:
    """Members watched now; expired entries are pruned on the way."""
    client = redis_client()
    now = time.time()
    client.zremrangebyscore(_key(kind), "-inf", now)
    return {str(member) for member in client.zrangebyscore(_key(kind), now, "+inf")}


def watched_portfolio_ids() -> set[int]:
    return {int(member) for member in watched("portfolio")}


def watched_symbols() -> set[str]:
    return watched("asset")


async def watch_touch_async(
    *, kind: str, members: Iterable[str | int], ttl: int | None = None
) -> None:
    """The same as watch_touch, from a server process's event loop."""
    if mapping := _expiries(members, ttl):
        await async_redis_client().zadd(_key(kind), mapping, gt=True)
