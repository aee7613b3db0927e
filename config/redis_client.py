"""Redis clients for the data the cache API cannot hold (sets, lists, locks, raw snapshots).

One sync client per process (pipeline side) and one asyncio client per event loop (ASGI
side). The asyncio pool blocks for a free connection instead of raising, so a reconnect
burst of a thousand sockets queues on it rather than failing with MaxConnectionsError.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

import redis
import redis.asyncio
from django.conf import settings

SOCKET_OPTIONS = {"socket_connect_timeout": 5, "socket_timeout": 10, "health_check_interval": 30}
ASYNC_POOL_SIZE = 64

_async_clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True, **SOCKET_OPTIONS)


def async_redis_client() -> redis.asyncio.Redis:
    """The asyncio client of the running event loop."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=ASYNC_POOL_SIZE,
            timeout=20,
            decode_responses=True,
            **SOCKET_OPTIONS,
        )
        client = _async_clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return client


def redis_key(*parts: object) -> str:
    """A key under the deployment's prefix: redis_key("ring", "AAPL") -> "pf:ring:AAPL"."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
