"""The pipeline's alert checks: an armed alert fires once when its value crosses; a fired one
re-arms only after the value comes back past its margin, so a price hovering at the threshold
does not fire on every tick.

Symbol alerts are decided in SQL against the saved Asset fields, for all of a batch's changed
symbols at once: one query selects (and locks) the armed alerts that cross now, one UPDATE
re-arms the fired ones that came back. Each reads, per asset and condition, only the
threshold range that can match (an index on (asset, state, condition, threshold) serves it),
so a tick costs about the alerts that fire, not all the alerts of its symbols. Portfolio
alerts are decided on the valuations the revaluation has just computed, after one query for
their alerts. `crosses` and `rearms` are the rules in Python, `CROSSES` and `REARMS` the same
rules in SQL; both multiply out instead of dividing (price x 100 against threshold x (100 -
margin)), so neither rounds.

Only a current value counts, and the same rule as the pages' stale flag decides what is
current (`asset_is_stale`): a price that is missing, flagged stale or older than the feed's
staleness threshold neither fires nor re-arms an alert; a portfolio value counts only when
complete and current. A `move` needs a previous close (an opening value).

SQLite (the dev default) keeps decimals as REAL, so there the SQL compares floats: a price
equal to a threshold still compares equal; products may differ in the 15th digit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Abs, Greatest
from django.db.models.lookups import GreaterThanOrEqual, LessThan, LessThanOrEqual, Lookup

from apps.alerts.messages import alert_message
from apps.alerts.models import Alert, AlertCondition, AlertEvent, AlertState
from apps.alerts.push import Firing, alert_firings_push_on_commit
from apps.alerts.rules import (
    HUNDRED,
    Decision,
    Reading,
    alert_decision,
    valuation_reading,
)
from apps.market.feed import stale_after_seconds
from apps.portfolios.selectors import portfolio_ids_affected
from apps.portfolios.valuation import Valuation

logger = logging.getLogger("personal_finance.realtime.alerts")


@dataclass
class AlertCheckSummary:
    checked: int = 0  # symbols or portfolios whose alerts were looked at
    fired: list[int] = field(default_factory=list)  # alert ids, in firing order
    rearmed: int = 0
    took: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the same rules, in SQL over an alert's asset ----------------------------------------

_PRICE, _PREVIOUS = F("asset__current_price"), F("asset__previous_close")
_THRESHOLD, _MARGIN = F("threshold"), F("rearm_margin_percent")
_MOVED = ExpressionWrapper(
    Abs(_PRICE - _PREVIOUS) * HUNDRED, output_field=DecimalField(max_digits=40, decimal_places=8)
)
_HAS_PREVIOUS = Q(asset__previous_close__gt=0)

CROSSES = (
    Q(condition=AlertCondition.ABOVE, asset__current_price__gte=_THRESHOLD)
    | Q(condition=AlertCondition.BELOW, asset__current_price__lte=_THRESHOLD)
    | Q(
        _HAS_PREVIOUS,
        GreaterThanOrEqual(_MOVED, _THRESHOLD * _PREVIOUS),
        condition=AlertCondition.MOVE,
    )
)
REARMS = (
    Q(
        LessThanOrEqual(_PRICE * HUNDRED, _THRESHOLD * (HUNDRED - _MARGIN)),
        condition=AlertCondition.ABOVE,
        asset__current_price__lt=_THRESHOLD,
    )
    | Q(
        GreaterThanOrEqual(_PRICE * HUNDRED, _THRESHOLD * (HUNDRED + _MARGIN)),
        condition=AlertCondition.BELOW,
        asset__current_price__gt=_THRESHOLD,
    )
    | Q(
        _HAS_PREVIOUS,
        LessThan(_MOVED, _THRESHOLD * _PREVIOUS),
        LessThanOrEqual(_MOVED, Greatest(_THRESHOLD - _MARGIN, 0) * _PREVIOUS),
        condition=AlertCondition.MOVE,
    )
)


# Per condition, the threshold range an index on (asset, state, condition, threshold) can
# read: a superset of the rule, which is then applied exactly to the few rows found. A move's
# percent is divided here (and rounded past 16 digits), so its range is a hair wider.
_MOVED_PERCENT = ExpressionWrapper(
    Abs(_PRICE - _PREVIOUS) * HUNDRED / _PREVIOUS,
    output_field=DecimalField(max_digits=40, decimal_places=20),
)
_HAIR = Value(Decimal("1e-9"))
CROSS_RANGES = {
    AlertCondition.ABOVE: Q(threshold__lte=_PRICE),
    AlertCondition.BELOW: Q(threshold__gte=_PRICE),
    AlertCondition.MOVE: Q(_HAS_PREVIOUS, threshold__lte=_MOVED_PERCENT + _HAIR),
}
REARM_RANGES = {
    AlertCondition.ABOVE: Q(threshold__gt=_PRICE),
    AlertCondition.BELOW: Q(threshold__lt=_PRICE),
    AlertCondition.MOVE: Q(_HAS_PREVIOUS, threshold__gt=_MOVED_PERCENT - _HAIR),
}


class AnyOf(Lookup):
    """`column = ANY(%s)` with the whole list as one array parameter on PostgreSQL (IN with
    one parameter per value elsewhere). The project's client-side binding parses the SQL for
    every parameter: 500 symbols in each of six subqueries cost more than the queries did."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


def _of_current_prices(symbols: Sequence[str], *, now: datetime) -> Q:
    """Alerts of these symbols whose saved price is current (asset_is_stale's rule). Filtered
    on the asset's side, so the planner reads those assets first, then each one's alerts."""
    cutoff = now - timedelta(seconds=stale_after_seconds())
    return Q(
        AnyOf(F("asset__symbol"), list(symbols)),
        asset__current_price__isnull=False,
        asset__stale_reason="",
        asset__last_updated__gte=cutoff,
    )


def _candidate_ids(
    current: Q, *, state: str, ranges: Mapping[AlertCondition, Q]
) -> QuerySet[Alert, Any]:
    """Ids of the live alerts in `state` that may match: per asset, one threshold range per
    condition, in one UNION ALL (an OR of the three was read as every alert of each asset,
    then filtered: 400 ms against 15 ms for 100,000 alerts)."""
    branches = [
        Alert.objects.filter(current, ranges[condition], paused=False, state=state,
                             condition=condition)
        .order_by()
        .values("id")
        for condition in AlertCondition
    ]  # fmt: skip
    return branches[0].union(*branches[1:], all=True)


def _planner_told_rows_are_in_memory() -> None:
    """PostgreSQL's default random_page_cost (4, for spinning disks) made it hash-join every
    alert of the batch (130 ms for 100,000 alerts) instead of probing the index per asset
    (15 ms); the alerts of a tick's symbols are read every few seconds and stay cached."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL random_page_cost = 1.1")


# --- firing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crossing:
    """An armed alert that crosses now, with what its firing records and pushes."""

    alert_id: int
    owner_id: int
    condition: str
    threshold: Decimal
    reading: Reading
    currency: str
    as_of: datetime | None
    symbol: str | None  # a symbol alert's, else None
    portfolio_id: int | None  # a portfolio alert's, else None
    name: str  # the asset's or the portfolio's name
    target: str  # how the message names it


def _fire(crossings: Sequence[Crossing], *, now: datetime) -> list[Firing]:
    """Record the firings, mark their alerts fired (one bulk update), push after commit."""
    if not crossings:
        return []
    events = AlertEvent.objects.bulk_create([_event(crossing, now) for crossing in crossings])
    # One UPDATE whatever the number: each alert's fired value is its event's, just written
    # (bulk_update's CASE per row cost about a millisecond a firing to build).
    value = AlertEvent.objects.filter(alert_id=OuterRef("pk"), fired_at=now).values("value")
    Alert.objects.filter(pk__in=[crossing.alert_id for crossing in crossings]).update(
        state=AlertState.FIRED, fired_at=now, fired_value=Subquery(value[:1]), updated_at=now
    )
    firings = [
        Firing(event, crossing.symbol, crossing.portfolio_id, crossing.name)
        for event, crossing in zip(events, crossings, strict=True)
    ]
    alert_firings_push_on_commit(firings)
    return firings


def _event(crossing: Crossing, now: datetime) -> AlertEvent:
    reading = crossing.reading
    percent = reading.change_percent
    message = alert_message(
        target=crossing.target, condition=crossing.condition, threshold=crossing.threshold,
        value=reading.value, currency=crossing.currency, change_percent=percent,
    )  # fmt: skip
    return AlertEvent(
        alert_id=crossing.alert_id,
        owner_id=crossing.owner_id,
        target=(crossing.symbol or crossing.name)[:120],
        condition=crossing.condition,
        threshold=crossing.threshold,
        value=reading.value,
        change_percent=percent,
        currency=crossing.currency,
        message=message[:300],
        as_of=crossing.as_of,
        fired_at=now,
    )


# --- the checks --------------------------------------------------------------------------

CROSSING_COLUMNS = (
    "id", "owner_id", "condition", "threshold", "asset__symbol", "asset__name",
    "asset__currency", "asset__current_price", "asset__previous_close", "asset__quote_time",
)  # fmt: skip


def alerts_crossing(*, symbols: Sequence[str], now: datetime) -> QuerySet[Alert, tuple[Any, ...]]:
    """The armed live alerts of these symbols that cross now on a current price
    (CROSSING_COLUMNS), locked for the transaction; rows another check holds are skipped (that
    check fires them)."""
    current = _of_current_prices(symbols, now=now)
    candidates = _candidate_ids(current, state=AlertState.ARMED, ranges=CROSS_RANGES)
    # The few candidates are held to the exact rule (and their state, once locked).
    return (
        Alert.objects.filter(CROSSES, pk__in=candidates, paused=False, state=AlertState.ARMED)
        .select_for_update(of=("self",), skip_locked=True)
        .order_by()
        .values_list(*CROSSING_COLUMNS)
    )


def alerts_rearming(*, symbols: Sequence[str], now: datetime) -> QuerySet[Alert]:
    """The fired live alerts of these symbols whose current price came back past the margin."""
    current = _of_current_prices(symbols, now=now)
    candidates = _candidate_ids(current, state=AlertState.FIRED, ranges=REARM_RANGES)
    live = Q(pk__in=candidates, paused=False, state=AlertState.FIRED)
    return Alert.objects.filter(live, REARMS).order_by()


def alerts_check_symbols(*, symbols: Sequence[str]) -> AlertCheckSummary:
    """Fire the armed alerts of these (just saved) symbols that cross now, re-arm the fired
    ones that came back past their margin: one query each, whatever the number of alerts."""
    started = time.perf_counter()
    wanted = list(dict.fromkeys(symbols))
    if not wanted:
        return AlertCheckSummary()
    now = datetime.now(UTC)
    with transaction.atomic():
        _planner_told_rows_are_in_memory()
        rows = alerts_crossing(symbols=wanted, now=now)
        firings = _fire([_symbol_crossing(*row) for row in rows], now=now)
        rearming = alerts_rearming(symbols=wanted, now=now)
        rearmed = rearming.update(state=AlertState.ARMED, updated_at=now)
    took = time.perf_counter() - started
    return _summary_logged("symbols", len(wanted), firings, rearmed, took)


def _symbol_crossing(
    alert_id: int, owner_id: int, condition: str, threshold: Decimal, symbol: str, name: str,
    currency: str, price: Decimal, previous: Decimal | None, quote_time: datetime | None,
) -> Crossing:  # fmt: skip
    change = None if previous is None else price - previous
    return Crossing(
        alert_id=alert_id, owner_id=owner_id, condition=condition, threshold=threshold,
        reading=Reading(price, change, previous), currency=currency, as_of=quote_time,
        symbol=symbol, portfolio_id=None, name=name or symbol, target=symbol,
    )  # fmt: skip


PORTFOLIO_ALERT_COLUMNS = (
    "id", "owner_id", "portfolio_id", "condition", "threshold", "rearm_margin_percent", "state",
)  # fmt: skip


def alerts_check_portfolios(*, valuations: Sequence[Valuation]) -> AlertCheckSummary:
    """Fire and re-arm the live alerts of these just-valued portfolios: one query reads their
    alerts, the decisions are made on the valuations in memory, two bulk writes follow."""
    started = time.perf_counter()
    readable = {
        valuation.portfolio_id: (valuation, reading)
        for valuation in valuations
        if (reading := valuation_reading(valuation)) is not None
    }
    if not readable:
        return AlertCheckSummary(checked=0)
    now = datetime.now(UTC)
    with transaction.atomic():
        rows = (
            Alert.objects.filter(paused=False, portfolio_id__in=list(readable))
            .select_for_update(skip_locked=True)
            .order_by()
            .values_list(*PORTFOLIO_ALERT_COLUMNS)
        )
        crossings, rearm_ids = _portfolio_decisions(rows, readable)
        firings = _fire(crossings, now=now)
        if rearm_ids:
            Alert.objects.filter(pk__in=rearm_ids).update(state=AlertState.ARMED, updated_at=now)
    took = time.perf_counter() - started
    return _summary_logged("portfolios", len(readable), firings, len(rearm_ids), took)


def _portfolio_decisions(
    rows: Iterable[tuple[Any, ...]], readable: Mapping[int, tuple[Valuation, Reading]]
) -> tuple[list[Crossing], list[int]]:
    """(the alerts that fire, the ids of those that re-arm)."""
    crossings: list[Crossing] = []
    rearm_ids: list[int] = []
    for alert_id, owner_id, portfolio_id, condition, threshold, margin, state in rows:
        seen = readable[portfolio_id]
        decision = alert_decision(
            state=state, paused=False, condition=condition, threshold=threshold, margin=margin,
            reading=seen[1],
        )  # fmt: skip
        if decision is Decision.FIRE:
            crossing = _portfolio_crossing(alert_id, owner_id, condition, threshold, *seen)
            crossings.append(crossing)
        elif decision is Decision.REARM:
            rearm_ids.append(alert_id)
    return crossings, rearm_ids


def _portfolio_crossing(
    alert_id: int, owner_id: int, condition: str, threshold: Decimal, valuation: Valuation,
    reading: Reading,
) -> Crossing:  # fmt: skip
    return Crossing(
        alert_id=alert_id, owner_id=owner_id, condition=condition, threshold=threshold,
        reading=reading, currency=valuation.base_currency, as_of=valuation.as_of, symbol=None,
        portfolio_id=valuation.portfolio_id, name=valuation.name,
        target=f"Portfolio “{valuation.name}”",
    )  # fmt: skip


def _summary_logged(
    kind: str, checked: int, firings: Sequence[Firing], rearmed: int, took: float
) -> AlertCheckSummary:
    summary = AlertCheckSummary(
        checked=checked,
        fired=[firing.event.alert_id for firing in firings if firing.event.alert_id is not None],
        rearmed=rearmed,
        took=took,
    )
    level = logging.INFO if firings or rearmed else logging.DEBUG
    logger.log(
        level, "alerts: %d %s checked, %d fired, %d re-armed, took %.3fs",
        checked, kind, len(firings), rearmed, took,
    )  # fmt: skip
    return summary


# --- for the revaluation -----------------------------------------------------------------


def portfolio_ids_alerted(*, symbols: Sequence[str]) -> set[int]:
    """Portfolios with a live alert whose value these symbols change: the revaluation values
    them even when nobody watches them (`portfolios_revalue(also=...)`)."""
    # From the few alerted portfolios to their positions, not from every position of the symbols.
    alerted = set(
        Alert.objects.filter(paused=False, portfolio__isnull=False).values_list(
            "portfolio_id", flat=True
        )
    )
    if not alerted:
        return set()
    return set(portfolio_ids_affected(symbols, among=alerted))
