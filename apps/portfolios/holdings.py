"""Portfolio values with every position's figures, for the portfolios being pushed.

The full pass (`valuation.portfolios_value`) sums in the database and never sees a position.
A pushed portfolio (watched, or asked for) also lists its positions, so it is valued from one
read of them instead: the totals are summed per (portfolio, asset currency) with the same
code as the aggregate's Python path, so they equal the full pass's to the cent, and the rows
shown beside a total come from the same read as the total.

A position's figures are in the portfolio's currency, converted at the rate its total uses.
What cannot be known is None with the reason in the position's `missing`; the portfolio's
own `missing` and `stale` keep the aggregate's wording (clients and tests read it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import NamedTuple

from django.db.models import BooleanField, Case, Q, Value, When

from apps.market.feed import stale_after_seconds
from apps.market.models import Asset
from apps.market.selectors import FxRates, fx_rates
from apps.portfolios.models import Position
from apps.portfolios.valuation import (
    CENT,
    PortfolioIds,
    Rate,
    Subtotal,
    Valuation,
    cents,
    fx_rate,
    subtotal_add,
)
from apps.streams.payloads import PositionFigures

PERCENT = Decimal("0.0001")
WEIGHT = Decimal("0.01")


class PositionRow(NamedTuple):
    """One position as read (the order of POSITION_COLUMNS)."""

    position_id: int
    portfolio_id: int
    portfolio_name: str
    base_currency: str
    asset_id: int
    quantity: Decimal
    cost_basis: Decimal


POSITION_COLUMNS = (
    "id", "portfolio_id", "portfolio__name", "portfolio__base_currency", "asset_id",
    "quantity", "cost_basis",
)  # fmt: skip
ASSET_COLUMNS = (
    "id", "symbol", "name", "currency", "current_price", "previous_close", "quote_time",
    "stale_reason", "aged",
)  # fmt: skip
AGED = "no fresh quote saved within the feed's interval"


@dataclass(frozen=True, slots=True)
class _Quote:
    """One asset's price as read, with what every position in it shares (worked out once:
    10,000 portfolios of 10 positions hold 500 assets)."""

    symbol: str
    name: str
    currency: str
    price: Decimal | None
    previous: Decimal | None
    quote_time: datetime | None
    flagged: bool  # the pipeline's stale flag: what the total's `stale` counts
    stale_reasons: tuple[str, ...]  # the flag's reason, or its age
    missing: tuple[str, ...]
    percent: Decimal | None


@dataclass(slots=True)
class HeldValuation(Valuation):
    """A Valuation that also lists its positions (ordered by symbol)."""

    holdings: list[PositionFigures] = field(default_factory=list)

    @classmethod
    def empty(cls, portfolio_id: int, name: str, base_currency: str) -> HeldValuation:
        """A portfolio that holds nothing: worth exactly 0, known and complete."""
        zero = Decimal("0.00")
        return cls(portfolio_id, name, base_currency, total_value=zero, daily_change=zero,
                   cost_basis=zero)  # fmt: skip


def portfolios_value_held(portfolio_ids: PortfolioIds) -> list[HeldValuation]:
    """Value the given portfolios with their positions: one read of the positions, one of
    their assets' prices, one of the FX rates (and the feed interval, kept a few seconds)."""
    rates = fx_rates()
    now = datetime.now(UTC)  # `as_of` is the moment before the read, as in portfolios_value
    positions = Position.objects.filter(portfolio_id__in=portfolio_ids).order_by(
        "portfolio_id", "asset__symbol"
    )
    rows = [PositionRow(*row) for row in positions.values_list(*POSITION_COLUMNS)]
    quotes = _quotes_read({row.asset_id for row in rows}, now)
    return [
        _portfolio_value(list(group), quotes, rates, now)
        for _, group in groupby(rows, key=lambda row: row.portfolio_id)
    ]


def _quotes_read(asset_ids: set[int], now: datetime) -> dict[int, _Quote]:
    """Every price the positions need, in one read: their totals and rows agree."""
    if not asset_ids:
        return {}
    cutoff = now - timedelta(seconds=stale_after_seconds())
    aged = Case(
        When(Q(last_updated__isnull=True) | Q(last_updated__lt=cutoff), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    assets = Asset.objects.filter(pk__in=asset_ids).annotate(aged=aged).order_by()
    return {row[0]: _quote(*row[1:]) for row in assets.values_list(*ASSET_COLUMNS)}


def _quote(
    symbol: str, name: str, currency: str, price: Decimal | None, previous: Decimal | None,
    quote_time: datetime | None, stale_reason: str, aged: bool,
) -> _Quote:  # fmt: skip
    missing = (
        ("no price yet",) if price is None else ("no previous close",) if previous is None else ()
    )
    stale = (stale_reason,) if stale_reason else (AGED,) if aged and price is not None else ()
    percent = (
        ((price - previous) / previous * 100).quantize(PERCENT)
        if price is not None and previous
        else None
    )
    return _Quote(symbol, name, currency, price, previous, quote_time, bool(stale_reason), stale,
                  missing, percent)  # fmt: skip


def _portfolio_value(
    rows: Sequence[PositionRow], quotes: dict[int, _Quote], fx: FxRates, now: datetime
) -> HeldValuation:
    first = rows[0]
    base = first.base_currency
    valuation = HeldValuation(first.portfolio_id, first.portfolio_name, base, as_of=now)
    subtotals: dict[str, Subtotal] = {}
    for row in rows:
        quote = quotes[row.asset_id]
        subtotal = subtotals.setdefault(quote.currency, Subtotal())
        subtotal.add(row.quantity, row.cost_basis, quote.price, quote.previous, quote.flagged)
    rates = {currency: fx_rate(fx, currency, base) for currency in subtotals}
    for currency, subtotal in subtotals.items():
        subtotal_add(valuation, currency, list(subtotal.row()), rates[currency])
    valuation.total_value = cents(valuation.total_value)
    valuation.daily_change = cents(valuation.daily_change)
    valuation.cost_basis = cents(valuation.cost_basis)
    valuation.value_unchanged = cents(valuation.value_unchanged)
    conversions = {currency: _conversion(rate, currency, base) for currency, rate in rates.items()}
    total = valuation.total_value
    valuation.holdings = []
    for row in rows:
        quote = quotes[row.asset_id]
        valuation.holdings.append(_figures(row, quote, conversions[quote.currency], total))
    return valuation


def _conversion(
    rate: Rate | None, currency: str, base: str
) -> tuple[Decimal | None, tuple[str, ...], tuple[str, ...]]:
    """(factor, missing, stale reasons) of converting `currency` to `base`."""
    if rate is None:
        return None, (f"no FX rate {currency}->{base}",), ()
    return rate[0], (), (f"the FX rate {currency}->{base} is not current",) if rate[1] else ()


def _figures(
    row: PositionRow,
    quote: _Quote,
    conversion: tuple[Decimal | None, tuple[str, ...], tuple[str, ...]],
    total: Decimal | None,
) -> PositionFigures:
    factor, fx_missing, fx_stale = conversion
    price, previous = quote.price, quote.previous
    value = change = cost = None
    if factor is not None:
        cost = row.cost_basis * factor
        if price is not None:
            value = row.quantity * price * factor
            if previous is not None:
                change = row.quantity * (price - previous) * factor
    stale_reasons = quote.stale_reasons + fx_stale
    return PositionFigures(
        symbol=quote.symbol,
        name=quote.name,
        quantity=row.quantity,
        price=price,
        currency=quote.currency,
        # Run for every position of every pushed portfolio: quantize inline, not via cents().
        value=None if value is None else value.quantize(CENT),
        daily_change=None if change is None else change.quantize(CENT),
        daily_change_percent=quote.percent,
        cost_basis=None if cost is None else cost.quantize(CENT),
        unrealised_gain=None if value is None or cost is None else (value - cost).quantize(CENT),
        weight=(value / total * 100).quantize(WEIGHT) if value is not None and total else None,
        stale=bool(stale_reasons),
        stale_reason="; ".join(stale_reasons) or None,
        quote_time=quote.quote_time,
        missing=[*quote.missing, *fx_missing],
        position_id=row.position_id,
    )
