"""Celery tasks: thin entry points that call the services in apps/."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, group
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.alerts.evaluation import (
    alerts_check_portfolios,
    alerts_check_symbols,
    portfolio_ids_alerted,
)
from apps.market.feed import batch_expiry_seconds
from apps.market.lookup import assets_lookup
from apps.market.pipeline import (
    batches_split,
    price_batch_abandon,
    price_batch_cap,
    price_batch_fetch,
)
from apps.market.selectors import symbols_due, symbols_known
from apps.portfolios.services import portfolio_revalue_now, portfolios_revalue
from workers import history_tasks, lifecycle, value_tasks  # noqa: F401  (lifecycle connects the worker's shutdown handlers; the others are the rest of the tasks, registered on import)
from workers.base import project_task, retry_countdown, task_budget_seconds

logger = logging.getLogger("personal_finance.realtime.tasks")


@project_task(name="workers.tasks.refresh_prices")
def refresh_prices(
    self: Task, symbols: list[str] | None = None, batch_size: int | None = None,
    source: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Split the due symbols (or the given ones) into batches and fan out one fetch each.

    A batch never holds more than its sources can price within a fetch task's time budget.
    """
    chosen = symbols_known(symbols) if symbols else symbols_due()
    budget = float(fetch_price_batch.soft_time_limit)
    cap = price_batch_cap(source=source, budget_seconds=budget)
    size = min(int(batch_size or settings.REALTIME_BATCH_SIZE), cap)
    batches = batches_split(chosen, size)
    # A batch still queued after one and a half intervals is dropped, never replayed late.
    expires = batch_expiry_seconds()
    group(
        fetch_price_batch.s(batch, source).set(expires=expires) for batch in batches
    ).apply_async()
    logger.info("tick: %d symbols in %d batches of up to %d", len(chosen), len(batches), size)
    return {"symbols": len(chosen), "batches": len(batches), "batch_size": size}


@project_task(name="workers.tasks.fetch_price_batch")
def fetch_price_batch(self: Task, symbols: list[str], source: str | None = None) -> dict[str, Any]:
    """Fetch and save one batch within this run's time budget (its soft time limit); its
    changed symbols' alerts are checked here, their portfolios revalued in a task of their own."""
    try:
        summary = price_batch_fetch(
            symbols=symbols,
            source=source,
            budget_seconds=task_budget_seconds(self),
            lock_owner=self.request.id,
        )
    except SoftTimeLimitExceeded:
        # The deadline ends the fetch in time; what overran anyway (a save stuck behind a lock)
        # is retried whole (saves are idempotent), and given up with stale flags at last.
        logger.warning("batch: %d symbols overran the soft time limit", len(symbols))
        if self.request.retries >= self.max_retries:
            price_batch_abandon(symbols=symbols, reason="the batch overran its time limit")
            raise
        raise self.retry(countdown=retry_countdown(self)) from None
    if summary.changed:
        revalue_portfolios.delay(summary.changed)
    alerts_check_symbols(symbols=summary.changed)  # logs what fired
    elsewhere = f"{len(summary.in_flight)} in flight elsewhere" if summary.in_flight else ""
    note = summary.skipped or elsewhere
    logger.info(
        "batch: %d symbols, %d changed, %d failed, took %.2fs%s",
        summary.symbols, len(summary.changed), len(summary.failed), summary.took,
        f" ({note})" if note else "",
    )  # fmt: skip
    if summary.transient and self.request.retries < self.max_retries:
        # Only the symbols that met a source outage or the deadline go round again, with backoff.
        countdown = retry_countdown(self, summary.retry_after)
        raise self.retry(args=(summary.transient, source), countdown=countdown)
    return summary.as_dict()


@project_task(name="workers.tasks.revalue_portfolios")
def revalue_portfolios(self: Task, symbols: list[str]) -> dict[str, Any]:
    """Value the portfolios these symbols change that someone watches or has an alert on,
    then check those alerts."""
    alerted = portfolio_ids_alerted(symbols=symbols)
    valuations = portfolios_revalue(symbols=symbols, also=alerted)
    alerts_check_portfolios(valuations=valuations)  # logs what fired
    return {"symbols": len(symbols), "portfolios": len(valuations)}


@project_task(name="workers.tasks.revalue_portfolio")
def revalue_portfolio(self: Task, portfolio_id: int) -> dict[str, Any]:
    valuation = portfolio_revalue_now(portfolio_id=portfolio_id)
    return {"portfolio_id": portfolio_id, "valued": valuation is not None}


# Nobody waits for a lookup retried later (its asker gives up within seconds): no autoretry.
@project_task(name="workers.tasks.lookup_assets", autoretry_for=())
def lookup_assets(self: Task, symbols: list[str]) -> dict[str, Any]:
    """Look new symbols up through the source chain once: {symbol: {status, reason}}."""
    checks = assets_lookup(symbols=symbols)
    return {symbol: check.as_dict() for symbol, check in checks.items()}
