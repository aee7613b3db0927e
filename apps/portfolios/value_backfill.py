"""Past days of portfolio value, rebuilt from daily bars and today's positions.

Nothing records what a portfolio held on a past day, so each day is valued with the
positions it holds today (callers say so to whoever reads the result). Day D uses each
asset's close dated D, or its latest close within CARRY_DAYS before D (a weekend or a
holiday keeps the last close, as a live valuation does); the daily change is against the
close before that one. FX is converted as the live valuation does (`EURUSD=X`, its inverse,
or through USD), at the pairs' closes of the same day. A price or rate that is missing
leaves its part out and marks the day incomplete with the reason: never 0, never the cost,
never a rate of 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from typing import NamedTuple

from apps.market.models import Asset, AssetType, PriceBar
from apps.market.selectors import FX_SYMBOL, FxRates, fx_pair_symbols
from apps.portfolios.models import DailyValueSource, Portfolio, PortfolioDailyValue, Position
from apps.portfolios.valuation import cents, fx_rate
from apps.portfolios.value_history import daily_value_dates_settled, daily_values_save

CARRY_DAYS = 7  # a close older than this (before day D) is no price for D
BACKFILL_CHUNK = 200  # portfolios rebuilt at a time
DAY_END = time(23, 59, 59)
Close = tuple[Decimal, Decimal | None]  # (close, the close before it) of one asset on one day


class Held(NamedTuple):
    asset_id: int
    symbol: str
    currency: str
    quantity: Decimal
    cost_basis: Decimal


@dataclass(slots=True)
class BackfillResult:
    """What the backfill did for one portfolio (with a dry run: what it would have done)."""

    portfolio_id: int
    name: str
    currency: str
    positions: int = 0
    written: int = 0  # days written (or, in a dry run, that would be)
    kept: int = 0  # days already recorded, left as they were
    incomplete: int = 0  # of the days written
    unknown: int = 0  # days without a single close or rate: nothing to record
    missing: set[str] = field(default_factory=set)  # the reasons of the incomplete days


def backfill_days(*, days: int, today: date) -> list[date]:
    """The `days` days before `today`, oldest first: today is the daily record's to take."""
    return [today - timedelta(days=offset) for offset in range(days, 0, -1)]


def portfolio_values_backfill(
    *,
    days: int,
    portfolio_ids: Sequence[int] | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    today: date | None = None,
) -> Iterator[BackfillResult]:
    """Rebuild the past `days` days of the given portfolios (all with None), one result each.

    A day the daily task recorded, or a complete backfilled one, is kept unless `overwrite`
    (an incomplete backfilled day is rebuilt: its missing bars may have come since). A day
    on which nothing at all is known is not written: a later backfill may still fill it. A
    dry run values everything and writes nothing.
    """
    calendar = backfill_days(days=days, today=today or datetime.now(UTC).date())
    for chunk in _chunks(portfolio_ids):
        yield from _chunk_backfill(chunk, calendar, overwrite=overwrite, dry_run=dry_run)


def _chunks(portfolio_ids: Sequence[int] | None) -> Iterator[list[tuple[int, str, str]]]:
    portfolios = Portfolio.objects.order_by("pk")
    if portfolio_ids is not None:
        portfolios = portfolios.filter(pk__in=list(portfolio_ids))
    else:
        portfolios = portfolios.filter(positions__isnull=False).distinct()
    last = 0
    while chunk := list(
        portfolios.filter(pk__gt=last).values_list("pk", "name", "base_currency")[:BACKFILL_CHUNK]
    ):
        yield chunk
        last = chunk[-1][0]


@dataclass(frozen=True, slots=True)
class _Prices:
    """What a chunk's portfolios are valued with, per asset and per day of the calendar."""

    closes: dict[int, list[Close | None]]
    rates: list[FxRates]


def _chunk_backfill(
    chunk: list[tuple[int, str, str]], calendar: list[date], *, overwrite: bool, dry_run: bool
) -> Iterator[BackfillResult]:
    held = _positions_read([pk for pk, _, _ in chunk])
    prices = _prices_read(held, {(pk, base) for pk, _, base in chunk}, calendar)
    kept = (
        set()
        if overwrite or not calendar
        else daily_value_dates_settled(portfolio_ids=held, first=calendar[0], last=calendar[-1])
    )
    now = datetime.now(UTC)
    for pk, name, base in chunk:
        result = BackfillResult(pk, name, base, positions=len(held.get(pk, ())))
        if result.positions:  # nothing held today: no past to rebuild from it
            rows = _days_value(result, held[pk], calendar, prices, kept, now)
            if rows and not dry_run:
                daily_values_save(rows=rows)
        yield result


def _prices_read(
    held: dict[int, list[Held]], bases: set[tuple[int, str]], calendar: list[date]
) -> _Prices:
    pairs = {(h.currency, base) for pk, base in bases for h in held.get(pk, ())}
    fx_assets = _fx_assets(pairs)
    asset_ids = {h.asset_id for rows in held.values() for h in rows} | set(fx_assets)
    closes = _closes(asset_ids, calendar)
    return _Prices(closes, [_rates_on(i, fx_assets, closes) for i in range(len(calendar))])


def _days_value(
    result: BackfillResult, held: list[Held], calendar: list[date], prices: _Prices,
    kept: set[tuple[int, date]], now: datetime,
) -> list[PortfolioDailyValue]:  # fmt: skip
    """The portfolio's rows to write, counted into `result`."""
    rows = []
    for index, day in enumerate(calendar):
        if (result.portfolio_id, day) in kept:
            result.kept += 1
            continue
        row = _day_value(result.portfolio_id, result.currency, held, day, index,
                         prices.closes, prices.rates[index], now)  # fmt: skip
        result.missing.update(row.missing)
        if row.total_value is None:
            result.unknown += 1  # nothing known that day: left for a later backfill
            continue
        rows.append(row)
        result.incomplete += not row.complete
    result.written = len(rows)
    return rows


def _positions_read(portfolio_ids: list[int]) -> dict[int, list[Held]]:
    rows = (
        Position.objects.filter(portfolio_id__in=portfolio_ids)
        .order_by("portfolio_id", "asset__symbol")
        .values_list("portfolio_id", "asset_id", "asset__symbol", "asset__currency", "quantity",
                     "cost_basis")
    )  # fmt: skip
    return {
        pk: [Held(*row[1:]) for row in group] for pk, group in groupby(rows, key=lambda r: r[0])
    }


def _fx_assets(pairs: Iterable[tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """The FX pairs that may convert the currencies: asset id -> (from, to) of its close."""
    symbols = {s for source, target in pairs if source != target
               for s in fx_pair_symbols(source, target)}  # fmt: skip
    found = Asset.objects.filter(symbol__in=symbols, asset_type=AssetType.FX)
    return {
        pk: (match.group(1), match.group(2))
        for pk, symbol in found.values_list("pk", "symbol")
        if (match := FX_SYMBOL.match(symbol))
    }


def _closes(asset_ids: set[int], calendar: list[date]) -> dict[int, list[Close | None]]:
    """Each asset's (close, previous close) on each day of the calendar; None: no price."""
    if not calendar:
        return {}
    bars = (
        PriceBar.objects.filter(
            asset_id__in=asset_ids,
            date__range=(calendar[0] - timedelta(days=2 * CARRY_DAYS), calendar[-1]),
        )
        .order_by("asset_id", "date")
        .values_list("asset_id", "date", "close")
    )
    series: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for asset_id, day, close in bars:
        series[asset_id].append((day, close))
    return {asset_id: closes_on_days(series.get(asset_id, []), calendar) for asset_id in asset_ids}


def closes_on_days(bars: list[tuple[date, Decimal]], calendar: list[date]) -> list[Close | None]:
    """(close, close before it) on each day from one asset's bars (date order); None: no
    close within CARRY_DAYS up to that day. The close before is None when its gap is longer."""
    found: list[Close | None] = []
    latest = -1  # index of the last bar on or before the day
    for day in calendar:
        while latest + 1 < len(bars) and bars[latest + 1][0] <= day:
            latest += 1
        if latest < 0 or (day - bars[latest][0]).days > CARRY_DAYS:
            found.append(None)
            continue
        bar_day, close = bars[latest]
        before = bars[latest - 1] if latest > 0 else None
        recent = before is not None and (bar_day - before[0]).days <= CARRY_DAYS
        found.append((close, before[1] if before is not None and recent else None))
    return found


def _rates_on(
    index: int, fx_assets: dict[int, tuple[str, str]], closes: dict[int, list[Close | None]]
) -> FxRates:
    """The day's rates in the shape the live valuation reads (market.selectors.fx_rates)."""
    rates: FxRates = {}
    for asset_id, (source, target) in fx_assets.items():
        close = closes[asset_id][index]
        if close is not None:
            rates[(source, target)] = (close[0], False)
            rates.setdefault((target, source), (1 / close[0], False))
    return rates


def _day_value(
    portfolio_id: int,
    base: str,
    held: list[Held],
    day: date,
    index: int,
    closes: dict[int, list[Close | None]],
    rates: FxRates,
    now: datetime,
) -> PortfolioDailyValue:
    total = cost = change = None
    missing: list[str] = []
    for currency, group in groupby(
        sorted(held, key=lambda h: h.currency), key=lambda h: h.currency
    ):
        rate = fx_rate(rates, currency, base)
        if rate is None:
            missing.append(f"no FX rate {currency}->{base} within {CARRY_DAYS} days")
            continue
        factor = rate[0]
        for position in group:
            close = closes[position.asset_id][index]
            if close is None:
                missing.append(f"no daily close for {position.symbol} within {CARRY_DAYS} days")
                continue
            price, previous = close
            total = _plus(total, position.quantity * price * factor)
            cost = _plus(cost, position.cost_basis * factor)
            if previous is None:
                missing.append(f"no previous close for {position.symbol}")
            else:
                change = _plus(change, position.quantity * (price - previous) * factor)
    return PortfolioDailyValue(
        portfolio_id=portfolio_id,
        date=day,
        currency=base,
        total_value=cents(total),
        daily_change=cents(change),
        cost_basis=cents(cost),
        positions=len(held),
        complete=not missing,
        missing=missing,
        source=DailyValueSource.BACKFILL,
        as_of=datetime.combine(day, DAY_END, UTC),  # the day's close, whenever each market's was
        recorded_at=now,
    )


def _plus(total: Decimal | None, amount: Decimal) -> Decimal:
    return amount if total is None else total + amount
