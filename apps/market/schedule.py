"""The price feed's periodic task: one row in django-celery-beat, edited in /admin or here.

The row's interval is the live schedule: beat's DatabaseScheduler notices an edit within
its 5 s sync, no restart. Its `expire_seconds` follows the interval (1.5x), so a tick that
waited through an outage is dropped rather than replayed.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

REFRESH_TASK_NAME = "Refresh prices"
REFRESH_TASK = "workers.tasks.refresh_prices"


def expire_seconds_for(interval_seconds: int) -> int:
    return max(5, math.ceil(interval_seconds * 1.5))


def interval_seconds(task: PeriodicTask) -> int | None:
    schedule = task.interval
    if schedule is None:
        return None
    seconds_per = {"days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1, "microseconds": 0}
    return int(schedule.every * seconds_per[schedule.period]) or None


@transaction.atomic
def refresh_schedule_apply(
    *, every_seconds: int | None = None, batch_size: int | None = None
) -> PeriodicTask:
    """Create or update the periodic refresh with this interval (and batch size kwarg).

    Without `every_seconds` an existing interval is kept (it may have been edited in /admin);
    a new row starts at REALTIME_UPDATE_INTERVAL.
    """
    task = PeriodicTask.objects.filter(name=REFRESH_TASK_NAME).select_related("interval").first()
    if every_seconds is None:
        every_seconds = (interval_seconds(task) if task else None) or (
            settings.REALTIME_UPDATE_INTERVAL
        )
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=every_seconds, period=IntervalSchedule.SECONDS
    )
    if task is None:
        task = PeriodicTask(name=REFRESH_TASK_NAME)
    task.task = REFRESH_TASK
    task.interval = interval
    task.enabled = True
    if batch_size is not None:
        kwargs: dict[str, Any] = json.loads(task.kwargs or "{}")
        kwargs["batch_size"] = batch_size
        task.kwargs = json.dumps(kwargs)
    # save() (not update()) fires the signal that makes beat reload its schedule.
    task.save()
    return task


def refresh_expiry_sync(task: PeriodicTask) -> None:
    """Keep a refresh task's expiry at 1.5x its interval (called before it is saved)."""
    seconds = interval_seconds(task)
    if task.task == REFRESH_TASK and seconds:
        task.expire_seconds = expire_seconds_for(seconds)
