"""`manage.py start_price_feed`: stores the schedule, then ticks in the foreground until stopped."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client
from django_celery_beat.models import PeriodicTask

from apps.market.feed import HEARTBEAT_KEY, batch_expiry_seconds, refresh_interval_forget
from apps.market.models import Asset
from apps.market.schedule import REFRESH_TASK_NAME
from tests.conftest import RunningProcess, wait_until
from tests.factories import asset_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_feed_stores_its_schedule_logs_each_tick_and_stops_cleanly_on_sigterm(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    asset_create("AAPL", always_refresh=True)
    feed = start_process(
        "feed",
        "exec python manage.py start_price_feed --interval 2 --batch-size 10 --concurrency 1",
        child_env,
    )
    wait_until(
        lambda: "batch: 1 symbols, 1 changed" in feed.output(),
        timeout=60, what="the feed's first batch",
    )  # fmt: skip
    output = feed.output()
    assert "Price feed: every 2s, batches of 10, sources simulated" in output
    assert "tick: 1 symbols in 1 batches of up to 10" in output
    task = PeriodicTask.objects.get(name=REFRESH_TASK_NAME)
    assert task.interval is not None
    assert task.interval.every == 2
    assert '"batch_size": 10' in task.kwargs
    assert Asset.objects.get(symbol="AAPL").source == "simulated"

    os.killpg(feed.popen.pid, signal.SIGTERM)  # what systemd sends
    assert feed.popen.wait(timeout=30) == 0
    assert "Warm shutdown" in feed.output()


def test_feed_with_a_long_interval_keeps_its_batches_and_health_between_ticks(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    asset_create("AAPL", always_refresh=True)
    env = {**child_env, "REALTIME_UPDATE_INTERVAL": "30"}  # the environment's default
    feed = start_process(
        "feed", "exec python manage.py start_price_feed --interval 300 --concurrency 1", env
    )
    # The first tick's batch ran: its expiry (1.5 x 300 s) did not drop it.
    wait_until(
        lambda: "batch: 1 symbols, 1 changed" in feed.output(),
        timeout=60, what="the feed's first batch",
    )  # fmt: skip
    assert "Price feed: every 300s" in feed.output()
    refresh_interval_forget()
    # Two hundred seconds after that tick, with the next one still 100 s away:
    cache.set(HEARTBEAT_KEY, {"at": time.time() - 200, "symbols": 1, "took": 0.1})

    body = Client().get("/realtime/health/").json()

    assert body["checks"]["price_feed"] == "ok"
    assert body["price_feed_running"] is True
    assert batch_expiry_seconds() == 450
