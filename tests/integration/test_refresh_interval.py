"""One owner for the refresh interval: the beat row. Expiry, staleness and health follow it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django_celery_beat.models import PeriodicTask
from pytest_django.fixtures import Settings

from apps.market.feed import (
    HEARTBEAT_KEY,
    batch_expiry_seconds,
    refresh_interval_forget,
    refresh_interval_seconds,
    stale_after_seconds,
)
from apps.market.schedule import REFRESH_TASK_NAME, refresh_schedule_apply
from tests.factories import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def interval_cache_cleared() -> Iterator[None]:
    refresh_interval_forget()
    yield
    refresh_interval_forget()


def heartbeat_seconds_ago(seconds: float) -> None:
    cache.set(HEARTBEAT_KEY, {"at": time.time() - seconds, "symbols": 3, "took": 0.1})


def interval_edit_in_admin(interval_id: int, every: int) -> int:
    """POST the interval's change form as a person in /admin does; returns the status."""
    response = admin_client().post(
        f"/admin/django_celery_beat/intervalschedule/{interval_id}/change/",
        {
            "every": every, "period": "seconds",
            # The inline list of tasks on that page, left as it is.
            "periodictask_set-TOTAL_FORMS": 0, "periodictask_set-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    return response.status_code


def admin_client() -> Client:
    client = Client()
    client.force_login(user_create(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_interval_edited_in_admin_is_the_one_everything_derives_from() -> None:
    task = refresh_schedule_apply(every_seconds=30)
    assert task.interval is not None

    assert interval_edit_in_admin(task.interval.pk, 300) == 302
    assert refresh_interval_seconds() == 300
    assert batch_expiry_seconds() == 450
    assert stale_after_seconds() == 900
    assert PeriodicTask.objects.get(name=REFRESH_TASK_NAME).expire_seconds == 450


def test_health_stays_200_between_slow_ticks_after_an_admin_edit(settings: Settings) -> None:
    settings.REALTIME_UPDATE_INTERVAL = 30  # the environment still says 30 s
    task = refresh_schedule_apply(every_seconds=30)
    assert task.interval is not None
    assert interval_edit_in_admin(task.interval.pk, 300) == 302
    heartbeat_seconds_ago(200)  # the last tick of a 300 s schedule, well within it

    response = Client().get("/realtime/health/?check=all")

    assert response.json()["checks"]["price_feed"] == "ok"
    assert response.json()["price_feed_running"] is True


def test_start_price_feed_interval_moves_staleness_and_expiry() -> None:
    refresh_schedule_apply(every_seconds=300)  # what `start_price_feed --interval 300` stores
    heartbeat_seconds_ago(200)

    assert batch_expiry_seconds() == 450  # a batch queued at a tick outlives the wait for it
    body = Client().get("/realtime/health/").json()
    assert body["price_feed_running"] is True


def test_a_heartbeat_older_than_three_intervals_is_still_reported() -> None:
    refresh_schedule_apply(every_seconds=10)
    heartbeat_seconds_ago(45)

    body = Client().get("/realtime/health/").json()

    assert body["price_feed_running"] is False
    assert "limit 30s" in body["checks"]["price_feed"]


def test_an_explicit_stale_after_below_two_intervals_is_raised_to_two(
    settings: Settings,
) -> None:
    settings.REALTIME_STALE_AFTER = 60
    refresh_schedule_apply(every_seconds=300)

    assert stale_after_seconds() == 600


def test_without_an_enabled_schedule_the_environment_stands_in(settings: Settings) -> None:
    settings.REALTIME_UPDATE_INTERVAL = 45
    PeriodicTask.objects.filter(name=REFRESH_TASK_NAME).update(enabled=False)

    assert refresh_interval_seconds() == 45


def test_schedule_apply_without_an_interval_keeps_the_one_set_in_admin() -> None:
    refresh_schedule_apply(every_seconds=120)

    task = refresh_schedule_apply(batch_size=20)  # `start_price_feed` with no --interval

    assert task.interval is not None
    assert task.interval.every == 120
