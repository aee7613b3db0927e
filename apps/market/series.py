"""Price series for charts: 1d from the intraday ring, longer ranges from daily bar closes.

One rule here says whether a daily range has the bars it needs (`bars_cover`), so the API
that asks for missing bars and the fetch that announces them agree on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db.models import Max, Min

from apps.market.feed import stale_after_seconds
from apps.market.intraday import intraday_get
from apps.market.models import Asset, PriceBar
from apps.market.updates import asset_is_stale
from config.redis_client import redis_client, redis_key


class SeriesRange(StrEnum):
    DAY = "1d"
    MONTH = "1m"
    HALF_YEAR = "6m"
    YEAR = "1y"


# Calendar days of each daily range, counted back from today (UTC).
RANGE_DAYS = {SeriesRange.MONTH: 30, SeriesRange.HALF_YEAR: 182, SeriesRange.YEAR: 365}
# Real markets skip weekends and holidays (Easter closes some for four days in a row), and a
# source's newest bar may be yesterday's: bars within this many days of either end cover it.
COVER_SLACK_DAYS = 5
# A sparkline gets at most this many of the ring's points (evenly over its day, ending on the
# latest): a full day's ring for 30 rows would be megabytes.
SPARKLINE_POINTS = 240


class SeriesStatus(StrEnum):
    READY = "ready"
    LOADING = "loading"  # missing bars were asked for; `history_ready` will follow


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    t: datetime | date  # a moment (1d) or a trading day (daily ranges)
    v: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetSeries:
    """One chart's data. `fetch_days` is set when the range lacks bars a fetch could bring."""

    symbol: str
    range: SeriesRange
    currency: str
    previous_close: Decimal | None
    status: SeriesStatus
    points: list[SeriesPoint]
    as_of: datetime | None
    stale: bool
    reason: str | None
    fetch_days: int | None = None


def bars_cover(first: date | None, last: date | None, *, days: int, today: date) -> bool:
    """Whether bars from `first` to `last` cover the `days` days up to `today` (with slack)."""
    if first is None or last is None:
        return False
    slack = timedelta(days=COVER_SLACK_DAYS)
    return first <= today - timedelta(days=days) + slack and last >= today - slack


def bars_span(symbol: str, *, days: int, today: date) -> tuple[date | None, date | None]:
    """The first and last day of the symbol's bars within the `days` days up to `today`."""
    span = PriceBar.objects.filter(
        asset__symbol=symbol, date__gte=today - timedelta(days=days)
    ).aggregate(first=Min("date"), last=Max("date"))
    return span["first"], span["last"]


def ranges_covered(symbol: str, *, today: date) -> list[SeriesRange]:
    """The daily ranges the saved bars of the symbol cover now, by `bars_cover`."""
    return [
        range_
        for range_, days in RANGE_DAYS.items()
        if bars_cover(*bars_span(symbol, days=days, today=today), days=days, today=today)
    ]


def history_outcome_key(symbol: str, days: int) -> str:
    """How the last fetch of these bars ended: a range the sources cannot fill is not asked
    for again on every read (a young listing, a failing source) while this key lives."""
    return redis_key("history", "outcome", symbol, days)


def history_outcome_get(symbol: str, days: int) -> str | None:
    outcome = redis_client().get(history_outcome_key(symbol, days))
    return str(outcome) if outcome is not None else None


def asset_series_get(
    *, asset: Asset, range_: SeriesRange, now: datetime | None = None
) -> AssetSeries:
    """The series of one range: READY with its points, or with `fetch_days` set when bars are
    missing and worth asking for (the caller asks, then answers LOADING)."""
    now = now or datetime.now(UTC)
    stale = asset_is_stale(asset, now=now, stale_after=stale_after_seconds())
    series = AssetSeries(
        symbol=asset.symbol,
        range=range_,
        currency=asset.currency,
        previous_close=asset.previous_close,
        status=SeriesStatus.READY,
        points=[],
        as_of=asset.quote_time,
        stale=stale,
        reason=_stale_reason(asset) if stale else None,
    )
    if range_ is SeriesRange.DAY:
        return _intraday(series)
    return _daily(series, asset, RANGE_DAYS[range_], now.date())


def sparklines_get(*, symbols: Iterable[str]) -> dict[str, AssetSeries]:
    """The 1d series of each known symbol (unknown ones are left out), one query for all."""
    now = datetime.now(UTC)
    assets = Asset.objects.filter(symbol__in=list(symbols))
    return {
        asset.symbol: _thinned(asset_series_get(asset=asset, range_=SeriesRange.DAY, now=now))
        for asset in assets
    }


def _thinned(series: AssetSeries, limit: int = SPARKLINE_POINTS) -> AssetSeries:
    """At most `limit` points spread evenly over the series, the latest always kept."""
    points = series.points
    if len(points) <= limit:
        return series
    stride = len(points) / limit
    kept = [points[int(index * stride)] for index in range(limit - 1)] + [points[-1]]
    return replace(series, points=kept)


def _stale_reason(asset: Asset) -> str:
    if asset.stale_reason:
        return asset.stale_reason
    if asset.last_updated is None:
        return "no quote saved yet"
    return f"the latest quote was saved at {asset.last_updated.isoformat()}"


def _intraday(series: AssetSeries) -> AssetSeries:
    """The ring is the day: a day of steps while the market trades, the last session's after
    it closes (expired two days after the last price)."""
    points = [
        SeriesPoint(datetime.fromtimestamp(stamp, UTC), Decimal(price))
        for stamp, price in intraday_get(series.symbol)
    ]
    if points:
        return replace(series, points=points)
    return _with_reason(series, "no intraday prices recorded yet")


def _daily(series: AssetSeries, asset: Asset, days: int, today: date) -> AssetSeries:
    bars = PriceBar.objects.filter(asset=asset, date__gte=today - timedelta(days=days))
    points = [
        SeriesPoint(day, close) for day, close in bars.order_by("date").values_list("date", "close")
    ]
    series = replace(series, points=points)
    if bars_cover(points[0].t if points else None, points[-1].t if points else None,
                  days=days, today=today):  # fmt: skip
        return series
    if not asset.is_active:
        return _with_reason(series, "the asset is inactive: its history is not fetched")
    outcome = history_outcome_get(asset.symbol, days)
    if outcome is not None:
        return _with_reason(series, outcome)
    return replace(series, fetch_days=days)


def _with_reason(series: AssetSeries, reason: str) -> AssetSeries:
    """Add why the series is incomplete to why it is stale, if it is."""
    return replace(series, reason=f"{series.reason}; {reason}" if series.reason else reason)


def series_asked(series: AssetSeries, *, asked: bool) -> AssetSeries:
    """The answer once its missing bars were asked for (LOADING), or could not be (READY)."""
    if asked:
        return replace(series, status=SeriesStatus.LOADING)
    return _with_reason(series, "the missing daily bars could not be asked for; try again later")
