"""Portfolio value history: the daily record of every portfolio's closing value, and its reads.

Which day a record belongs to: the UTC date of the moment its prices were read. The beat
runs it after the US close (22:30 UTC by default), so that date is also the US market's
trading day; the backfill gives day D the bars dated D, the same day seen from the bars.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet

from apps.portfolios.models import DailyValueSource, Portfolio, PortfolioDailyValue
from apps.portfolios.valuation import Valuation, portfolios_value

logger = logging.getLogger("personal_finance.realtime.valuation")

RECORD_CHUNK = 2000  # portfolios valued and written at a time: 100,000 never load at once
SAVED_FIELDS = [
    "currency", "total_value", "daily_change", "cost_basis", "positions", "complete",
    "missing", "source", "as_of", "recorded_at",
]  # fmt: skip


@dataclass(slots=True)
class RecordSummary:
    day: date
    portfolios: int = 0
    incomplete: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "portfolios": self.portfolios,
                "incomplete": self.incomplete}  # fmt: skip


def record_day(moment: datetime) -> date:
    """The day a record taken at `moment` belongs to (module docstring)."""
    return moment.astimezone(UTC).date()


def portfolio_values_record(*, chunk_size: int = RECORD_CHUNK) -> RecordSummary:
    """Record every portfolio's value now as today's close, watched or not.

    Run twice the same UTC day, the later run's figures win (an upsert on portfolio and
    day): the record stands for the day's close, and a later run is nearer it (a manual run
    in the afternoon is replaced by the scheduled one after the close; a retry after a
    failure part way completes the day). Each chunk commits on its own, so a failure keeps
    what was recorded before it and a retry rewrites it whole.
    """
    summary = RecordSummary(day=record_day(datetime.now(UTC)))
    for chunk in _portfolio_chunks(chunk_size):
        valuations = {v.portfolio_id: v for v in portfolios_value([pk for pk, _ in chunk])}
        now = datetime.now(UTC)
        rows = [
            _daily_row(valuations.get(pk) or _nothing_held(pk, currency, now), summary.day, now)
            for pk, currency in chunk
        ]
        daily_values_save(rows=rows)
        summary.portfolios += len(rows)
        summary.incomplete += sum(not row.complete for row in rows)
    logger.info("daily values of %s: %d portfolios, %d incomplete", summary.day,
                summary.portfolios, summary.incomplete)  # fmt: skip
    return summary


def _portfolio_chunks(size: int) -> Iterator[list[tuple[int, str]]]:
    """(id, base currency) of every portfolio, `size` at a time, by id (no OFFSET scans)."""
    last = 0
    while True:
        chunk = list(
            Portfolio.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "base_currency")[:size]
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def _nothing_held(portfolio_id: int, currency: str, now: datetime) -> Valuation:
    """A portfolio without positions (the full pass leaves it out) is worth exactly 0."""
    zero = Decimal("0.00")
    return Valuation(portfolio_id, "", currency, total_value=zero, daily_change=zero,
                     cost_basis=zero, as_of=now)  # fmt: skip


def _daily_row(valuation: Valuation, day: date, now: datetime) -> PortfolioDailyValue:
    return PortfolioDailyValue(
        portfolio_id=valuation.portfolio_id,
        date=day,
        currency=valuation.base_currency,
        total_value=valuation.total_value,
        daily_change=valuation.daily_change,
        cost_basis=valuation.cost_basis,
        positions=valuation.positions,
        complete=valuation.complete,
        missing=list(valuation.missing),
        source=DailyValueSource.DAILY,
        as_of=valuation.as_of,
        recorded_at=now,
    )


def daily_values_save(*, rows: Sequence[PortfolioDailyValue]) -> int:
    """Upsert the rows on (portfolio, day): which days may be replaced is the caller's rule."""
    with transaction.atomic():
        PortfolioDailyValue.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["portfolio", "date"],
            update_fields=SAVED_FIELDS,
            batch_size=1000,
        )
    return len(rows)


# --- reads ---------------------------------------------------------------------------------


def daily_values_since(*, portfolio_id: int, since: date | None) -> QuerySet[PortfolioDailyValue]:
    """The portfolio's records from `since` (all with None), oldest first."""
    records = PortfolioDailyValue.objects.filter(portfolio_id=portfolio_id)
    if since is not None:
        records = records.filter(date__gte=since)
    return records.order_by("date")


def daily_value_dates_settled(
    *, portfolio_ids: Iterable[int], first: date, last: date
) -> set[tuple[int, date]]:
    """(portfolio, day) of the records between `first` and `last` that a backfill keeps: the
    daily task's, and complete backfilled days. An incomplete backfilled day may be rebuilt
    (its missing bars may have been fetched since)."""
    rows = (
        PortfolioDailyValue.objects.filter(
            portfolio_id__in=list(portfolio_ids), date__range=(first, last)
        )
        .filter(Q(source=DailyValueSource.DAILY) | Q(complete=True))
        .values_list("portfolio_id", "date")
    )
    return set(rows)
