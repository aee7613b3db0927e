"""Today's prices per symbol in Redis, for sparklines and the 1-day chart.

A Redis list per symbol, newest first: one point per REALTIME_INTRADAY_STEP_SECONDS (a price
in the same step as the newest point replaces it, so the ring ends on the latest price and a
fast feed never crowds the morning out of the bound), at most REALTIME_INTRADAY_POINTS (a day
of one-minute steps by default), expiring two days after its last write. A point is stored as
"<step>|<epoch seconds>:<price>" (config/redis_rings.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from apps.market.providers.base import Quote
from config.redis_client import redis_client, redis_key
from config.redis_rings import ring_push

RING_EXPIRY_SECONDS = 2 * 86_400


def intraday_key(symbol: str) -> str:
    return redis_key("ring", symbol)


def intraday_push(quotes: Sequence[Quote]) -> None:
    """Keep each quote's (time, price) as its symbol's newest point, one round trip."""
    if not quotes:
        return
    step, bound = settings.REALTIME_INTRADAY_STEP_SECONDS, settings.REALTIME_INTRADAY_POINTS
    pipe = redis_client().pipeline(transaction=False)
    for quote in quotes:
        stamp = int(quote.quote_time.timestamp())
        ring_push(
            pipe,
            key=intraday_key(quote.symbol),
            step=stamp // step,
            body=f"{stamp}:{quote.price}",
            bound=bound,
            expiry=RING_EXPIRY_SECONDS,
        )
    pipe.execute()


def intraday_get(symbol: str) -> list[tuple[int, str]]:
    """Oldest first: [(epoch seconds, price text), ...], one per second.

    Pushed newest first, but not always in time order: two workers may save out of order, and
    a late quote lands on top of newer ones. So the points are sorted here; of two in the same
    second, the one pushed last wins.
    """
    raw: list[str] = redis_client().lrange(intraday_key(symbol), 0, -1)  # type: ignore[assignment]  # decode_responses=True
    by_second: dict[int, str] = {}
    for item in reversed(raw):
        stamp, price = item.rsplit("|", 1)[-1].split(":", 1)
        by_second[int(stamp)] = price
    return sorted(by_second.items())
