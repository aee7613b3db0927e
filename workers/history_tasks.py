"""Celery tasks of the charts: daily bars fetched on demand (imported by workers.tasks)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from apps.market.history import price_history_abandon, price_history_fetch
from workers.base import TRANSIENT_ERRORS, project_task, retry_countdown, task_budget_seconds

logger = logging.getLogger("personal_finance.realtime.tasks")


@project_task(name="workers.history_tasks.fetch_price_history")
def fetch_price_history(
    self: Task, symbol: str, days: int, user_ids: list[int] | None = None
) -> dict[str, Any]:
    """Fetch a chart's missing daily bars; its askers' sockets get `history_ready`.

    A source outage is retried with backoff; whatever ends the last try (or any other error)
    is announced as the error, so the chart stops loading.
    """
    last_try = self.request.retries >= self.max_retries
    try:
        summary = price_history_fetch(
            symbols=[symbol], days=days, user_ids=user_ids or [],
            budget_seconds=task_budget_seconds(self), last_try=last_try,
        )  # fmt: skip
    except Exception as error:
        if last_try or not isinstance(error, TRANSIENT_ERRORS):  # else autoretry takes it
            price_history_abandon(symbol=symbol, days=days, user_ids=user_ids or [],
                                  reason=f"the fetch failed ({type(error).__name__})")  # fmt: skip
        raise
    if summary.transient and not last_try:
        raise self.retry(countdown=retry_countdown(self, summary.retry_after))
    return summary.as_dict()
