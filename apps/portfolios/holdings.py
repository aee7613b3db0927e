"""Portfolio values with every position's figures, for the portfolios being pushed.

The full pass (`valuation.portfolios_value`) sums in the database and never sees a position.
A pushed portfolio (watched, or asked for) also lists its positions, so it is valued from one
read of them instead, and the rows shown beside a total come from the same read as the total.

A tick values every watched portfolio this way (10,000 portfolios of 10 positions is 100,000
rows), so the work per position is kept to a few Decimal operations: what every position in
an asset shares for one portfolio currency (its converted price and move, what is missing or
stale, and why) is worked out once per (asset, currency) in `_Line`, and a portfolio whose
inputs are all there and current adds its rows' unrounded figures up as it goes. A portfolio
with something missing or stale is summed per asset currency with the aggregate's own code
(`Subtotal`, `subtotal_add`), so its `missing` and `stale` wording equal the full pass's.
Totals equal the full pass's to the cent: both add the same products and round once.
Measured (2026-12-01, 10,000 watched portfolios, CPU of this process, busy machine): 1.52 s
before these changes, 1.13 s after; of that, building the 100,000 frozen `PositionFigures`
takes about a third.

A position's figures are in the portfolio's currency, converted at the rate its total uses.
What cannot be known is None with the reason in the position's `missing`. Rows are ordered by
symbol (code point order, as Python sorts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from django.db.models import BooleanField, Case, Q, Value, When

from apps.market.feed import stale_after_seconds
from apps.market.models import Asset
from apps.market.selectors import FxRates, fx_rates
from apps.portfolios.valuation import (
    CENT,
    PortfolioIds,
    Subtotal,
    Valuation,
    cents,
    fx_rate,
    positions_chosen,
    subtotal_add,
)
from apps.streams.payloads import PositionFigures

PERCENT = Decimal("0.0001")
WEIGHT = Decimal("0.01")

# (position id, portfolio id, portfolio name, base currency, asset id, quantity, cost basis)
PositionRow = tuple[int, int, str, str, int, Decimal, Decimal]
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
    """One asset's price as read."""

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


@dataclass(frozen=True, slots=True)
class _Line:
    """What every position in one asset shares in one portfolio currency."""

    quote: _Quote
    factor: Decimal | None  # None: no rate converts the asset's currency
    price: Decimal | None  # price x factor
    move: Decimal | None  # (price - previous close) x factor
    missing: tuple[str, ...]
    stale_reason: str | None
    # Priced, with a previous close, not flagged, converted at a current rate: a portfolio
    # of such lines alone has nothing to report in its total.
    regular: bool


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
    positions = positions_chosen(portfolio_ids).order_by("portfolio_id")
    rows: list[PositionRow] = list(positions.values_list(*POSITION_COLUMNS))
    quotes = _quotes_read({row[4] for row in rows}, now)
    lines = _Lines(quotes, rates)
    return [
        _portfolio_value(list(group), lines, now) for _, group in groupby(rows, key=itemgetter(1))
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


class _Lines:
    """Each asset's `_Line` per portfolio currency, made on first use (a tick holds a few
    hundred assets and a handful of currencies)."""

    def __init__(self, quotes: dict[int, _Quote], rates: FxRates) -> None:
        self.quotes, self.rates = quotes, rates
        self.by_base: dict[str, dict[int, _Line]] = {}

    def of(self, base: str) -> dict[int, _Line]:
        lines = self.by_base.get(base)
        if lines is None:
            lines = self.by_base[base] = {
                asset_id: _line(quote, base, self.rates) for asset_id, quote in self.quotes.items()
            }
        return lines


def _line(quote: _Quote, base: str, rates: FxRates) -> _Line:
    rate = fx_rate(rates, quote.currency, base)
    fx_missing = () if rate is not None else (f"no FX rate {quote.currency}->{base}",)
    fx_stale = rate is not None and rate[1]
    stale = quote.stale_reasons + ((f"the FX rate {quote.currency}->{base} is not current",)
                                   if fx_stale else ())  # fmt: skip
    factor = None if rate is None else rate[0]
    price, previous = quote.price, quote.previous
    same = quote.currency == base  # times 1 changes nothing: skip it
    converted = None if factor is None or price is None else price if same else price * factor
    move = None
    if converted is not None and previous is not None:
        move = price - previous if same else (price - previous) * factor  # type: ignore[operator]
    return _Line(
        quote=quote,
        factor=factor,
        price=converted,
        move=move,
        missing=quote.missing + fx_missing,
        stale_reason="; ".join(stale) or None,
        # A quote merely older than the feed's interval flags its row, not the total.
        regular=move is not None and not quote.flagged and not fx_stale,
    )


def _portfolio_value(rows: list[PositionRow], lines: _Lines, now: datetime) -> HeldValuation:
    _, portfolio_id, name, base, *_ = rows[0]
    of_base = lines.of(base)
    rows.sort(key=lambda row: of_base[row[4]].quote.symbol)
    valuation = HeldValuation(portfolio_id, name, base, as_of=now)
    if all(of_base[row[4]].regular for row in rows):
        exact = _regular_add(valuation, rows, of_base)
    else:
        exact = _irregular_add(valuation, rows, of_base, lines.rates)
    total = valuation.total_value
    # Each row's weight is its value times 100 / total: one division per portfolio.
    per_total = 100 / total if total else None
    valuation.holdings = [
        _figures(row, of_base[row[4]], value, change, cost, per_total)
        for row, (value, change, cost) in zip(rows, exact, strict=True)
    ]
    return valuation


Exact = tuple[Decimal | None, Decimal | None, Decimal | None]  # value, change, cost


def _regular_add(
    valuation: HeldValuation, rows: list[PositionRow], of_base: dict[int, _Line]
) -> list[Exact]:
    """Every row priced and converted: totals are the sums of the rows' exact figures."""
    exact: list[Exact] = []
    total = change_total = cost_total = Decimal(0)
    for row in rows:
        line = of_base[row[4]]
        quantity, cost = row[5], row[6]
        value, change = quantity * line.price, quantity * line.move  # type: ignore[operator]
        if line.quote.currency != valuation.base_currency:
            cost = cost * line.factor  # type: ignore[operator]
        total += value
        change_total += change
        cost_total += cost
        exact.append((value, change, cost))
    valuation.positions = len(rows)
    valuation.total_value = total.quantize(CENT)
    valuation.daily_change = change_total.quantize(CENT)
    valuation.cost_basis = cost_total.quantize(CENT)
    return exact


def _irregular_add(
    valuation: HeldValuation, rows: list[PositionRow], of_base: dict[int, _Line], rates: FxRates
) -> list[Exact]:
    """Something missing or stale: summed per currency as the full pass sums it, so the
    totals and the `missing` and `stale` wording equal its own."""
    subtotals: dict[str, Subtotal] = {}
    exact: list[Exact] = []
    for row in rows:
        line = of_base[row[4]]
        quote, quantity, cost = line.quote, row[5], row[6]
        subtotals.setdefault(quote.currency, Subtotal()).add(
            quantity, cost, quote.price, quote.previous, quote.flagged
        )
        factor = line.factor
        value = None if line.price is None else quantity * line.price
        change = None if line.move is None else quantity * line.move
        exact.append((value, change, None if factor is None else cost * factor))
    for currency in sorted(subtotals):
        rate = fx_rate(rates, currency, valuation.base_currency)
        subtotal_add(valuation, currency, list(subtotals[currency].row()), rate)
    valuation.total_value = cents(valuation.total_value)
    valuation.daily_change = cents(valuation.daily_change)
    valuation.cost_basis = cents(valuation.cost_basis)
    valuation.value_unchanged = cents(valuation.value_unchanged)
    return exact


def _figures(
    row: PositionRow,
    line: _Line,
    value: Decimal | None,
    change: Decimal | None,
    cost: Decimal | None,
    per_total: Decimal | None,
) -> PositionFigures:
    quote = line.quote
    return PositionFigures(
        symbol=quote.symbol,
        name=quote.name,
        quantity=row[5],
        price=quote.price,
        currency=quote.currency,
        # Run for every position of every pushed portfolio: quantize inline, not via cents().
        value=None if value is None else value.quantize(CENT),
        daily_change=None if change is None else change.quantize(CENT),
        daily_change_percent=quote.percent,
        cost_basis=None if cost is None else cost.quantize(CENT),
        unrealised_gain=None if value is None or cost is None else (value - cost).quantize(CENT),
        weight=None if value is None or per_total is None else (value * per_total).quantize(WEIGHT),
        stale=line.stale_reason is not None,
        stale_reason=line.stale_reason,
        quote_time=quote.quote_time,
        missing=list(line.missing),
        position_id=row[0],
    )
