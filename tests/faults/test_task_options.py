"""The task options every fault depends on, checked on the tasks a worker really runs."""

from __future__ import annotations

import django.db
import pytest
import redis.exceptions
from django.conf import settings

from config.celery import app
from workers import tasks  # noqa: F401  (registers the project's tasks)
from workers.base import RETRY_COUNTDOWN_MAX, TIME_LIMIT

# The pipeline's tasks; a task whose asker does not wait for a late answer may opt out of
# retries (`autoretry_for=()`, as the symbol lookup does).
PIPELINE_TASKS = [
    "workers.tasks.refresh_prices",
    "workers.tasks.fetch_price_batch",
    "workers.tasks.revalue_portfolios",
    "workers.tasks.revalue_portfolio",
]
TRANSIENT = [
    django.db.OperationalError("the database is away"),
    django.db.InterfaceError("connection already closed"),
    redis.exceptions.ConnectionError("Error 111 connecting"),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
]


@pytest.mark.parametrize("name", PIPELINE_TASKS)
def test_every_task_retries_an_outage_with_bounded_backoff_and_fails_anything_else(
    name: str,
) -> None:
    task = app.tasks[name]
    for error in TRANSIENT:
        assert isinstance(error, tuple(task.autoretry_for)), (name, error)
    assert not isinstance(ValueError("a bug"), tuple(task.autoretry_for))
    # 2, 4, 8 s: three retries outlast a 10 s outage (a jitter drawn from zero might not).
    assert (task.retry_backoff, task.retry_jitter) == (2, False)
    assert task.retry_backoff_max == RETRY_COUNTDOWN_MAX
    assert task.max_retries == 3


@pytest.mark.parametrize(
    "name", sorted(name for name in app.tasks if name.startswith("workers.tasks."))
)
def test_every_task_survives_its_worker_being_killed(name: str) -> None:
    task = app.tasks[name]
    assert (task.acks_late, task.reject_on_worker_lost) == (True, True)


def test_the_broker_keeps_a_message_unacked_longer_than_any_task_may_hold_it() -> None:
    """Longer: never run twice while still running or waiting out a retry. Not Redis' hour:
    a killed worker's tasks come back within minutes."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert isinstance(visibility, int)
    assert TIME_LIMIT + RETRY_COUNTDOWN_MAX < visibility <= 5 * 60
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
