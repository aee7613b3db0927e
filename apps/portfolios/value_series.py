"""A portfolio's value over a range, for its chart: 1d from the intraday ring, the rest from
the daily records.

Points are in the portfolio's currency today. A point kept in another currency (the
portfolio's currency was changed since) is not converted after the fact: its value is null,
with the reason, so the chart shows a gap rather than a number in the wrong unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from apps.portfolios.models import Portfolio
from apps.portfolios.value_history import daily_values_since
from apps.portfolios.value_ring import value_ring_get
from apps.streams.frames import wire_time


class SeriesRange(StrEnum):
    DAY = "1d"
    MONTH = "1m"
    HALF_YEAR = "6m"
    YEAR = "1y"
    MAX = "max"


RANGE_DAYS = {SeriesRange.MONTH: 30, SeriesRange.HALF_YEAR: 182, SeriesRange.YEAR: 365}


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    t: str  # ISO datetime with Z (1d) or YYYY-MM-DD (daily)
    v: Decimal | None
    cost_basis: Decimal | None
    complete: bool
    missing: list[str]

    @property
    def gain(self) -> Decimal | None:
        return None if self.v is None or self.cost_basis is None else self.v - self.cost_basis

    def as_dict(self) -> dict[str, Any]:
        return {"t": self.t, "v": self.v, "cost_basis": self.cost_basis, "gain": self.gain,
                "complete": self.complete, "missing": self.missing}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PortfolioSeries:
    portfolio_id: int
    range: SeriesRange
    currency: str
    points: list[SeriesPoint]
    as_of: datetime | None  # when the newest point's prices were read

    def as_dict(self) -> dict[str, Any]:
        return {
            "portfolio_id": self.portfolio_id,
            "range": str(self.range),
            "currency": self.currency,
            "points": [point.as_dict() for point in self.points],
            "as_of": self.as_of and wire_time(self.as_of),
        }


def portfolio_series_get(
    *, portfolio: Portfolio, range_: SeriesRange, now: datetime | None = None
) -> PortfolioSeries:
    now = now or datetime.now(UTC)
    if range_ is SeriesRange.DAY:
        return _intraday(portfolio, now)
    days = RANGE_DAYS.get(range_)
    since = None if days is None else now.astimezone(UTC).date() - timedelta(days=days)
    records = daily_values_since(portfolio_id=portfolio.pk, since=since)
    rows = list(records.values_list("date", "currency", "total_value", "cost_basis", "missing",
                                    "as_of"))  # fmt: skip
    points = [_point(day.isoformat(), currency, portfolio.base_currency, value, cost, missing)
              for day, currency, value, cost, missing, _ in rows]  # fmt: skip
    as_of = rows[-1][5] if rows else None
    return PortfolioSeries(portfolio.pk, range_, portfolio.base_currency, points, as_of)


def _intraday(portfolio: Portfolio, now: datetime) -> PortfolioSeries:
    since = now - timedelta(days=1)
    kept = [point for point in value_ring_get(portfolio.pk) if point.at >= since]
    points = [
        _point(wire_time(p.at), p.currency, portfolio.base_currency, p.value, p.cost_basis,
               p.missing)
        for p in kept
    ]  # fmt: skip
    as_of = kept[-1].at if kept else None
    return PortfolioSeries(portfolio.pk, SeriesRange.DAY, portfolio.base_currency, points, as_of)


def _point(
    t: str, currency: str, wanted: str, value: Decimal | None, cost: Decimal | None,
    missing: Iterable[str],
) -> SeriesPoint:  # fmt: skip
    if currency != wanted:
        reason = f"valued in {currency}; the portfolio is now valued in {wanted}"
        return SeriesPoint(t, None, None, False, [reason])
    reasons = list(missing)
    return SeriesPoint(t, value, cost, not reasons, reasons)
