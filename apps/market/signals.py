"""Keep the refresh task's expiry in step with its interval, however the interval is edited."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.market.feed import refresh_interval_forget
from apps.market.schedule import REFRESH_TASK, refresh_expiry_sync


def _task_before_save(sender: type[PeriodicTask], instance: PeriodicTask, **_: Any) -> None:
    refresh_expiry_sync(instance)


def _schedule_changed(**_: Any) -> None:
    # This process reads the new interval at once; the others within a few seconds.
    refresh_interval_forget()


def _interval_after_save(
    sender: type[IntervalSchedule], instance: IntervalSchedule, **_: Any
) -> None:
    # Editing the interval row itself (not the task) must move the expiry too.
    for task in PeriodicTask.objects.filter(interval=instance, task=REFRESH_TASK):
        task.save()


def signals_connect() -> None:
    pre_save.connect(_task_before_save, sender=PeriodicTask, dispatch_uid="refresh_expiry_task")
    post_save.connect(
        _interval_after_save, sender=IntervalSchedule, dispatch_uid="refresh_expiry_interval"
    )
    for signal in (post_save, post_delete):
        signal.connect(_schedule_changed, sender=PeriodicTask, dispatch_uid="refresh_interval")
