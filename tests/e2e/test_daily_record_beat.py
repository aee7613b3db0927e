"""The daily record's schedule: a crontab row in the beat database after migrate, and its task
run by a real Celery worker (`celery call`, as an operator would) records every portfolio."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from celery.result import AsyncResult
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from apps.portfolios.models import PortfolioDailyValue
from tests.conftest import ROOT, RunningProcess
from tests.factories import asset_priced, portfolio_create, position_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

TASK = "workers.value_tasks.record_portfolio_values"


def test_migrate_creates_the_daily_crontab_after_the_us_close_ending_before_midnight() -> None:
    # Transactional tests empty the tables between them: migrate the schedule out and in again.
    call_command("migrate", "portfolios", "0003", verbosity=0)
    assert not PeriodicTask.objects.filter(task=TASK).exists()
    call_command("migrate", verbosity=0)  # every app: nothing else may stay unapplied
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []

    row = PeriodicTask.objects.select_related("crontab").get(task=TASK)
    assert row.name == "Record portfolio values"
    assert row.interval is None
    assert row.crontab is not None
    assert (row.crontab.minute, row.crontab.hour, row.crontab.day_of_week) == ("30", "22", "*")
    assert str(row.crontab.timezone) == "UTC"
    assert row.enabled
    # A run that waited longer would land on the next UTC day: it is dropped instead.
    assert 0 < row.expire_seconds <= 90 * 60


def test_celery_call_runs_the_record_in_a_real_worker(
    celery_worker_process: RunningProcess, child_env: dict[str, str]
) -> None:
    held, empty = portfolio_create(name="Held"), portfolio_create(name="Empty")
    position_create(held, asset_priced("AAPL", "200.00", "190.00"), "2", "300")

    result = subprocess.run(
        ["celery", "-A", "config", "call", TASK],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    summary = AsyncResult(result.stdout.strip()).get(timeout=30)
    today = datetime.now(UTC).date()
    assert summary == {"day": today.isoformat(), "portfolios": 2, "incomplete": 0}
    values = dict(
        PortfolioDailyValue.objects.filter(date=today).values_list("portfolio_id", "total_value")
    )
    assert values == {held.pk: Decimal("400.00"), empty.pk: Decimal("0.00")}
