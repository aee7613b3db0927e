"""One Redis client per process for the data the cache API cannot hold (sets, lists, locks)."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
        decode_responses=True,
    )


def redis_key(*parts: object) -> str:
    """A key under the deployment's prefix: redis_key("ring", "AAPL") -> "pf:ring:AAPL"."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
