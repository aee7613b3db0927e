"""The intraday ring: each pushed portfolio's recent values in Redis, for its 1-day chart.

A Redis list per portfolio, newest first, bounded by PORTFOLIO_INTRADAY_POINTS and expiring
two days after its last write. One point per second at most: a valuation in the same second
as the newest point replaces it (two batches of one tick revalue the same portfolio within
moments), so a busy tick never crowds the older points out of the bound (a ring of
config/redis_rings.py, stepped by the second: "<second>|<figures as JSON>"), one round trip
for a whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from django.conf import settings

from apps.portfolios.valuation import Valuation
from config.redis_client import redis_client, redis_key
from config.redis_rings import ring_push

RING_EXPIRY_SECONDS = 2 * 86_400


@dataclass(frozen=True, slots=True)
class RingPoint:
    """One valuation as kept: None where the figure was not known."""

    at: datetime  # the valuation's as_of, to the second
    value: Decimal | None
    cost_basis: Decimal | None
    currency: str
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def ring_key(portfolio_id: int) -> str:
    return redis_key("portfolio-ring", portfolio_id)


def value_ring_push(valuations: Sequence[Valuation]) -> None:
    """Keep each valuation as its portfolio's newest point (or replace one of the same second)."""
    if not valuations:
        return
    bound, pipe = settings.PORTFOLIO_INTRADAY_POINTS, redis_client().pipeline(transaction=False)
    for valuation in valuations:
        second = int(valuation.as_of.timestamp())
        ring_push(pipe, key=ring_key(valuation.portfolio_id), step=second,
                  body=_encode(valuation), bound=bound, expiry=RING_EXPIRY_SECONDS)  # fmt: skip
    pipe.execute()


def value_ring_get(portfolio_id: int) -> list[RingPoint]:
    """The portfolio's kept points, oldest first, one per second."""
    raw: list[str] = redis_client().lrange(ring_key(portfolio_id), 0, -1)  # type: ignore[assignment]  # decode_responses=True
    # Newest first as stored; two workers pushing out of order could leave a second twice or
    # an older point above a newer one: the one pushed last wins, and the order is restored.
    by_second: dict[int, RingPoint] = {}
    for item in reversed(raw):
        second, point = _decode(item)
        by_second[second] = point
    return [by_second[second] for second in sorted(by_second)]


def _encode(valuation: Valuation) -> str:
    figures = [
        _text(valuation.total_value),
        _text(valuation.cost_basis),
        valuation.base_currency,
        valuation.missing,
    ]
    return orjson.dumps(figures).decode()


def _decode(item: str) -> tuple[int, RingPoint]:
    stamp, body = item.split("|", 1)
    value, cost, currency, missing = orjson.loads(body)
    second = int(stamp)
    at = datetime.fromtimestamp(second, UTC)
    return second, RingPoint(at, _decimal(value), _decimal(cost), currency, tuple(missing))


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
