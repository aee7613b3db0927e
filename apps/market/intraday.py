"""A short ring of recent prices per symbol in Redis, for sparklines."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from apps.market.providers.base import Quote
from config.redis_client import redis_client, redis_key

RING_EXPIRY_SECONDS = 2 * 86_400


def intraday_push(quotes: Sequence[Quote]) -> None:
    """Append each quote's (time, price) to its symbol's ring, newest first, one round trip."""
    if not quotes:
        return
    points = settings.REALTIME_INTRADAY_POINTS
    pipe = redis_client().pipeline(transaction=False)
    for quote in quotes:
        key = redis_key("ring", quote.symbol)
        pipe.lpush(key, f"{int(quote.quote_time.timestamp())}:{quote.price}")
        pipe.ltrim(key, 0, points - 1)
        pipe.expire(key, RING_EXPIRY_SECONDS)
    pipe.execute()


def intraday_get(symbol: str) -> list[tuple[int, str]]:
    """Oldest first: [(epoch seconds, price text), ...]."""
    raw: list[str] = redis_client().lrange(redis_key("ring", symbol), 0, -1)  # type: ignore[assignment]  # decode_responses=True
    points = [item.split(":", 1) for item in reversed(raw)]
    return [(int(stamp), price) for stamp, price in points]
