"""A circuit breaker per source, shared by every worker through Redis.

After FAILURE_THRESHOLD failures in a row a source is skipped for OPEN_SECONDS, so a source
that is down costs one timeout per minute instead of one per batch, and the next source in
the chain answers meanwhile.
"""

from __future__ import annotations

import time

from django.conf import settings

from config.redis_client import redis_client, redis_key

FAILURE_THRESHOLD = 5
OPEN_SECONDS = 60  # the default of PRICE_SOURCE_BREAKER_SECONDS


class CircuitBreaker:
    def __init__(self, *, threshold: int = FAILURE_THRESHOLD, open_seconds: int | None = None):
        self.threshold = threshold
        self.open_seconds = (
            settings.PRICE_SOURCE_BREAKER_SECONDS if open_seconds is None else open_seconds
        )

    def is_open(self, source: str) -> bool:
        until = redis_client().get(redis_key("breaker", source, "open_until"))
        return until is not None and float(until) > time.time()

    def record_failure(self, source: str) -> bool:
        """Count a failure; return True when this one opened the breaker."""
        client = redis_client()
        failures_key = redis_key("breaker", source, "failures")
        failures = client.incr(failures_key)
        client.expire(failures_key, self.open_seconds * 10)
        if failures < self.threshold:
            return False
        client.set(
            redis_key("breaker", source, "open_until"),
            time.time() + self.open_seconds,
            ex=self.open_seconds,
        )
        client.delete(failures_key)
        return True

    def record_success(self, source: str) -> None:
        redis_client().delete(redis_key("breaker", source, "failures"))

    def reset(self, source: str) -> None:
        redis_client().delete(
            redis_key("breaker", source, "failures"), redis_key("breaker", source, "open_until")
        )
