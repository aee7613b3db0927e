"""Rates: a token bucket per socket for client messages, and a throttle for repeated log lines."""

from __future__ import annotations

import time


class TokenBucket:
    """`rate` messages a second on average, bursts of up to `burst`."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, *, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class LogThrottle:
    """At most one log line every `every` seconds for a failure that repeats (an outage seen
    by every socket); the lines left out are counted and reported with the next one."""

    __slots__ = ("every", "next_at", "skipped")

    def __init__(self, *, every: float) -> None:
        self.every = every
        self.next_at = 0.0
        self.skipped = 0

    def allow(self) -> int | None:
        """None: stay quiet. Else log now, mentioning the returned count of lines left out."""
        now = time.monotonic()
        if now < self.next_at:
            self.skipped += 1
            return None
        self.next_at = now + self.every
        skipped, self.skipped = self.skipped, 0
        return skipped
