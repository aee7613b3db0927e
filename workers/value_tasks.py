"""Celery tasks of portfolio value history: the daily record (imported by workers.tasks)."""

from __future__ import annotations

from typing import Any

from celery import Task

from apps.portfolios.value_history import portfolio_values_record
from workers.base import project_task


@project_task(name="workers.value_tasks.record_portfolio_values")
def record_portfolio_values(self: Task) -> dict[str, Any]:
    """Record every portfolio's value as today's close (beat, once a day after the US close)."""
    return portfolio_values_record().as_dict()
