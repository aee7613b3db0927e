"""Celery tasks: thin entry points that call the services in apps/."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, group
from django.conf import settings

from apps.market.feed import batch_expiry_seconds
from apps.market.pipeline import batches_split, price_batch_fetch
from apps.market.selectors import symbols_due, symbols_known
from apps.portfolios.services import portfolio_revalue_now, portfolios_revalue
from workers.base import project_task

logger = logging.getLogger("personal_finance.realtime.tasks")


@project_task(name="workers.tasks.refresh_prices")
def refresh_prices(
    self: Task, symbols: list[str] | None = None, batch_size: int | None = None,
    source: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Split the due symbols (or the given ones) into batches and fan out one fetch each."""
    chosen = symbols_known(symbols) if symbols else symbols_due()
    size = int(batch_size or settings.REALTIME_BATCH_SIZE)
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
    """Fetch and save one batch; its changed symbols are revalued in a task of their own."""
    summary = price_batch_fetch(symbols=symbols, source=source)
    if summary.changed:
        revalue_portfolios.delay(summary.changed)
    logger.info(
        "batch: %d symbols, %d changed, %d failed, took %.2fs%s",
        summary.symbols, len(summary.changed), len(summary.failed), summary.took,
        f" ({summary.skipped})" if summary.skipped else "",
    )  # fmt: skip
    if summary.transient and self.request.retries < self.max_retries:
        # Only the symbols that met a source outage go round again, with backoff.
        countdown = summary.retry_after or 5 * 2**self.request.retries
        raise self.retry(args=(summary.transient, source), countdown=countdown)
    return summary.as_dict()


@project_task(name="workers.tasks.revalue_portfolios")
def revalue_portfolios(self: Task, symbols: list[str]) -> dict[str, Any]:
    valuations = portfolios_revalue(symbols=symbols)
    return {"symbols": len(symbols), "portfolios": len(valuations)}


@project_task(name="workers.tasks.revalue_portfolio")
def revalue_portfolio(self: Task, portfolio_id: int) -> dict[str, Any]:
    valuation = portfolio_revalue_now(portfolio_id=portfolio_id)
    return {"portfolio_id": portfolio_id, "valued": valuation is not None}
