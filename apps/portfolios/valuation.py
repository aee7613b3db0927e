"""Portfolio values from one set-based query per batch, in Decimal, in each base currency.

The database sums quantity x price and quantity x (price - previous close) per portfolio and
asset currency; Python then converts each currency subtotal with FX rates that the same
pipeline fetches (`EURUSD=X`, or the inverse pair). A price or FX rate that is missing is
reported as missing: its part is left out, the total is flagged incomplete, and nothing is
ever valued at cost or at a rate of 1. A figure none of whose inputs is known is None (sent
as null with the reasons in `missing`), never 0.

Only PostgreSQL sums in SQL: SQLite stores decimals as REAL, so its SUM is float arithmetic
and a half cent can round the wrong way. There the same subtotals are summed in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, Q, QuerySet, Sum

from apps.market.selectors import FxRates, fx_rates
from apps.portfolios.models import Position

CENT = Decimal("0.01")
PortfolioIds = QuerySet[Position, int] | Iterable[int]


@dataclass(slots=True)
class Valuation:
    """A portfolio's value as of `as_of`; None where none of a figure's inputs is known."""

    portfolio_id: int
    name: str
    base_currency: str
    total_value: Decimal | None = None  # of the positions priced (and convertible)
    daily_change: Decimal | None = None  # of those that also have a previous close
    cost_basis: Decimal | None = None  # of the positions in total_value
    value_unchanged: Decimal | None = None  # of those in total_value but not in daily_change
    positions: int = 0
    missing: list[str] = field(default_factory=list)  # what could not be valued, and why
    stale_reasons: list[str] = field(default_factory=list)  # inputs that are not current
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def stale(self) -> bool:
        return bool(self.stale_reasons)

    @property
    def stale_reason(self) -> str | None:
        return "; ".join(self.stale_reasons) or None

    @property
    def daily_change_percent(self) -> Decimal | None:
        """Against the opening value of the same positions, so an unknown change is not 0%."""
        if self.daily_change is None or self.total_value is None:
            return None
        opening = self.total_value - self.daily_change - (self.value_unchanged or 0)
        return (self.daily_change / opening * 100).quantize(Decimal("0.0001")) if opening else None

    @property
    def unrealised_gain(self) -> Decimal | None:
        if self.total_value is None or self.cost_basis is None:
            return None
        return self.total_value - self.cost_basis


def fx_rate(rates: FxRates, source: str, target: str) -> tuple[Decimal, bool] | None:
    """Direct, inverse, or through USD; None when no rate is known."""
    if source == target:
        return Decimal(1), False
    if (source, target) in rates:
        return rates[(source, target)]
    via_usd = rates.get((source, "USD")), rates.get(("USD", target))
    if via_usd[0] and via_usd[1]:
        return via_usd[0][0] * via_usd[1][0], via_usd[0][1] or via_usd[1][1]
    return None


def _money() -> DecimalField[Decimal, Decimal]:
    return DecimalField(max_digits=38, decimal_places=10)


SUBTOTAL_COLUMNS = (
    "portfolio_id", "portfolio_name", "base_currency", "asset__currency",
    "value", "change", "value_no_previous", "cost", "positions", "no_previous", "unpriced",
    "stale",
)  # fmt: skip
Rate = tuple[Decimal, bool]


def _subtotals(portfolio_ids: PortfolioIds) -> QuerySet[Position, tuple[Any, ...]]:
    """One aggregate row per (portfolio, asset currency) for the given portfolios."""
    value = ExpressionWrapper(F("quantity") * F("asset__current_price"), output_field=_money())
    change = ExpressionWrapper(
        F("quantity") * (F("asset__current_price") - F("asset__previous_close")),
        output_field=_money(),
    )
    return (
        Position.objects.filter(portfolio_id__in=portfolio_ids)
        # Grouped by two narrow keys: the portfolio's name and currency come along through
        # Min() (one value per portfolio), which spares PostgreSQL sorting 1M rows by text.
        .values("portfolio_id", "asset__currency")
        .annotate(
            portfolio_name=Min("portfolio__name"),
            base_currency=Min("portfolio__base_currency"),
            value=Sum(value),
            change=Sum(change),  # NULL rows (no previous close) are left out of the sum
            # What change leaves out, so the daily percent is over the same positions. Filtered
            # to the rare rows it covers: a sum of quantity x previous close instead cost 12%.
            value_no_previous=Sum(value, filter=Q(asset__previous_close__isnull=True)),
            cost=Sum("cost_basis", filter=Q(asset__current_price__isnull=False)),
            positions=Count("id"),
            no_previous=Count(
                "id",
                filter=Q(asset__current_price__isnull=False, asset__previous_close__isnull=True),
            ),
            unpriced=Count("id", filter=Q(asset__current_price__isnull=True)),
            stale=Count("id", filter=~Q(asset__stale_reason="")),
        )
        .order_by()
        .values_list(*SUBTOTAL_COLUMNS)
    )


def portfolios_value(portfolio_ids: PortfolioIds) -> list[Valuation]:
    """Value the given portfolios: one aggregate query plus one query for FX rates."""
    rates = fx_rates()
    factors: dict[tuple[str, str], Rate | None] = {}
    # Taken before the read: a price saved after this moment may be missing from the value,
    # and a snapshot read later is flagged stale for it (apps/realtime/snapshot_read.py).
    as_of = datetime.now(UTC)
    valuations: dict[int, Valuation] = {}
    for portfolio_id, name, base, currency, *subtotal in _rows(portfolio_ids):
        valuation = valuations.get(portfolio_id)
        if valuation is None:
            valuation = valuations[portfolio_id] = Valuation(portfolio_id, name, base, as_of=as_of)
        pair = (currency, base)
        if pair not in factors:
            factors[pair] = fx_rate(rates, currency, base)
        subtotal_add(valuation, currency, subtotal, factors[pair])
    for valuation in valuations.values():
        valuation.total_value = cents(valuation.total_value)
        valuation.daily_change = cents(valuation.daily_change)
        valuation.cost_basis = cents(valuation.cost_basis)
        valuation.value_unchanged = cents(valuation.value_unchanged)
    return list(valuations.values())


def _rows(portfolio_ids: PortfolioIds) -> Iterator[tuple[Any, ...]]:
    """The subtotal rows: on PostgreSQL from the aggregate, unconverted and uncached.

    psycopg already returns numeric as Decimal and counts as int, so Django's per-value
    converters only copy them, and the queryset would keep every row: skipping both took a
    quarter off valuing 100,000 portfolios. Other databases sum in Python (module docstring).
    """
    connection = connections[router.db_for_read(Position)]
    if connection.vendor != "postgresql":
        yield from _subtotals_in_python(portfolio_ids)
        return
    queryset = _subtotals(portfolio_ids)
    try:
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # no ids at all (a user with no portfolio): nothing to read
        return
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        # Room to hash-aggregate 100,000s of groups in memory instead of sorting on disk, and
        # no JIT: compiling this query cost 150 ms, more than it saved.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(2000):
            yield from rows


POSITION_COLUMNS = (
    "portfolio_id", "portfolio__name", "portfolio__base_currency", "asset__currency",
    "quantity", "cost_basis", "asset__current_price", "asset__previous_close",
    "asset__stale_reason",
)  # fmt: skip


def _subtotals_in_python(portfolio_ids: PortfolioIds) -> Iterator[tuple[Any, ...]]:
    """The aggregate's rows (SUBTOTAL_COLUMNS), summed in Decimal from each position.

    Each column read on its own comes back exact: Django rounds a REAL column to its 15
    significant digits and decimal places. Only the arithmetic must stay out of SQL.
    """
    positions = Position.objects.filter(portfolio_id__in=portfolio_ids).order_by()
    groups: dict[tuple[int, str], Subtotal] = defaultdict(Subtotal)
    names: dict[int, tuple[str, str]] = {}
    for row in positions.values_list(*POSITION_COLUMNS).iterator(chunk_size=2000):
        portfolio_id, name, base, currency, quantity, cost, price, previous, stale = row
        names[portfolio_id] = (name, base)
        groups[(portfolio_id, currency)].add(quantity, cost, price, previous, bool(stale))
    for (portfolio_id, currency), subtotal in groups.items():
        yield (portfolio_id, *names[portfolio_id], currency, *subtotal.row())


@dataclass(slots=True)
class Subtotal:
    """One (portfolio, currency) row of the aggregate; as in SQL, a sum of no rows is None."""

    value: Decimal | None = None
    change: Decimal | None = None
    value_no_previous: Decimal | None = None
    cost: Decimal | None = None
    positions: int = 0
    no_previous: int = 0
    unpriced: int = 0
    stale: int = 0

    def add(
        self,
        quantity: Decimal,
        cost: Decimal,
        price: Decimal | None,
        previous: Decimal | None,
        stale: bool,
    ) -> None:
        self.positions += 1
        self.stale += stale
        if price is None:
            self.unpriced += 1
            return
        self.value = _plus(self.value, quantity * price)
        self.cost = _plus(self.cost, cost)
        if previous is None:
            self.no_previous += 1
            self.value_no_previous = _plus(self.value_no_previous, quantity * price)
        else:
            self.change = _plus(self.change, quantity * (price - previous))

    def row(self) -> tuple[Any, ...]:
        return (
            self.value, self.change, self.value_no_previous, self.cost,
            self.positions, self.no_previous, self.unpriced, self.stale,
        )  # fmt: skip


def subtotal_add(
    valuation: Valuation, currency: str, subtotal: list[Any], rate: Rate | None
) -> None:
    value, change, value_no_previous, cost, count, no_previous, unpriced, stale = subtotal
    valuation.positions += count
    if unpriced:
        valuation.missing.append(f"{unpriced} position(s) in {currency} have no price")
    if no_previous:
        valuation.missing.append(f"{no_previous} position(s) in {currency} have no previous close")
    if value is None:
        return  # nothing priced in this currency: nothing to convert
    if rate is None:
        valuation.missing.append(f"no FX rate {currency}->{valuation.base_currency}")
        return
    factor, fx_stale = rate
    if stale:
        valuation.stale_reasons.append(f"{stale} price(s) in {currency} are not current")
    if fx_stale:
        valuation.stale_reasons.append(
            f"the FX rate {currency}->{valuation.base_currency} is not current"
        )
    # Run once per (portfolio, currency) of a batch (13,000 times for 10,000 portfolios):
    # plain arithmetic, no helper calls on the common path. A total is None until a subtotal
    # is added to it.
    if currency != valuation.base_currency:
        value, cost = value * factor, cost * factor
        change = None if change is None else change * factor
        value_no_previous = value_no_previous and value_no_previous * factor
    known = valuation.total_value is not None
    valuation.total_value = valuation.total_value + value if known else value
    valuation.cost_basis = valuation.cost_basis + cost if known else cost
    if change is not None:
        known = valuation.daily_change is not None
        valuation.daily_change = valuation.daily_change + change if known else change
    if value_no_previous:
        valuation.value_unchanged = _plus(valuation.value_unchanged, value_no_previous)


def _plus(total: Decimal | None, amount: Decimal) -> Decimal:
    return amount if total is None else total + amount


def cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(CENT)
