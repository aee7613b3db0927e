"""Redis clients for the data the cache API cannot hold (sets, lists, locks, raw snapshots).

One sync client per process (pipeline side) and one asyncio client per event loop (ASGI
side). The asyncio pool blocks for a free connection instead of raising, so a reconnect
burst of a thousand sockets queues on it rather than failing with MaxConnectionsError.

Both retry a command that meets a dropped connection. After a Redis restart every pooled
connection is dead; without a retry each one fails its next command once (redis-py gives a
client built on a pool of our own no retry at all), which a socket's client would see as
`unavailable` errors long after Redis is back. Our commands are safe to send twice.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

import redis
import redis.asyncio
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff

SOCKET_OPTIONS = {"socket_connect_timeout": 5, "socket_timeout": 10, "health_check_interval": 30}
ASYNC_POOL_SIZE = 64
# A dead pooled connection is replaced on the first retry; a Redis that is down still fails
# within milliseconds (refused), so callers' own time bounds stay what they are.
ASYNC_RETRIES = 2

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
            retry=AsyncRetry(
                ExponentialWithJitterBackoff(base=0.01, cap=0.5),
                ASYNC_RETRIES,
                supported_errors=(redis.exceptions.ConnectionError,),  # not a stalled server
            ),
            **SOCKET_OPTIONS,
        )
        client = _async_clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return client


def redis_key(*parts: object) -> str:
    """A key under the deployment's prefix: redis_key("ring", "AAPL") -> "pf:ring:AAPL"."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
