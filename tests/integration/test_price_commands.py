"""The guide's commands as a user runs them: output, exit codes, --dry-run writing nothing."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from apps.market.models import Asset, PriceBar
from apps.market.schedule import REFRESH_TASK_NAME, refresh_schedule_apply
from tests.conftest import ROOT
from tests.factories import asset_create

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("update_asset_prices", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_update_saves_prices_and_prints_a_summary() -> None:
    asset_create("AAPL")
    asset_create("MSFT")
    out, err = run("--symbols", "AAPL", "msft", "--source", "simulated")
    assert "Updated: 2  Unchanged: 0  Rejected: 0  Failed: 0" in out
    assert "2/2 symbols" in err
    assert all(Asset.objects.values_list("current_price", flat=True))


def test_dry_run_fetches_and_prints_but_writes_nothing() -> None:
    asset_create("AAPL")
    out, _ = run("--symbols", "AAPL", "--dry-run")
    assert "AAPL" in out
    assert "[simulated]" in out
    assert "nothing written or pushed" in out
    assert Asset.objects.get(symbol="AAPL").current_price is None


def test_historical_saves_daily_bars() -> None:
    asset_create("AAPL")
    out, _ = run("--symbols", "AAPL", "--historical", "--days", "10")
    assert "Daily bars fetched: 10, saved: 10" in out
    assert PriceBar.objects.filter(asset__symbol="AAPL").count() == 10


def test_historical_dry_run_writes_no_bars() -> None:
    asset_create("AAPL")
    out, _ = run("--symbols", "AAPL", "--historical", "--days", "5", "--dry-run")
    assert "(nothing written)" in out
    assert not PriceBar.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "ZZZZ"], "Unknown symbol(s): ZZZZ"),
        (["--symbols", "AA PL"], "is not a valid ticker symbol"),
        (["--days", "5"], "--days needs --historical"),
        (["--historical", "--days", "0"], "--days must be between 1 and 3650"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    asset_create("AAPL")
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)


def test_unknown_symbol_exits_non_zero_from_the_shell(child_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "update_asset_prices", "--symbols", "NOPE"],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Unknown symbol(s): NOPE" in result.stderr


def test_unknown_source_is_refused_by_the_parser(child_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "update_asset_prices", "--source", "bloomberg"],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid choice: 'bloomberg'" in result.stderr


def test_schedule_apply_stores_interval_batch_size_and_expiry() -> None:
    refresh_schedule_apply(every_seconds=15, batch_size=100)
    task = PeriodicTask.objects.get(name=REFRESH_TASK_NAME)
    assert task.interval is not None
    assert (task.interval.every, task.interval.period) == (15, "seconds")
    assert '"batch_size": 100' in task.kwargs
    assert task.expire_seconds == 23


def test_editing_the_interval_row_moves_the_expiry_too() -> None:
    task = refresh_schedule_apply(every_seconds=30)
    assert task.interval is not None
    task.interval.every = 60
    task.interval.save()
    assert PeriodicTask.objects.get(name=REFRESH_TASK_NAME).expire_seconds == 90


@pytest.mark.django_db(transaction=False)
def test_migration_created_the_refresh_task() -> None:
    # A plain (rolled-back) test: pytest-django runs these before the flushing ones.
    task = PeriodicTask.objects.get(name=REFRESH_TASK_NAME)
    assert task.task == "workers.tasks.refresh_prices"
    assert task.enabled
