"""The periodic price refresh, every REALTIME_UPDATE_INTERVAL seconds (edit it in /admin)."""

import math

from django.conf import settings
from django.db import migrations


def schedule_create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every = settings.REALTIME_UPDATE_INTERVAL
    interval, _ = interval_model.objects.get_or_create(every=every, period="seconds")
    task_model.objects.get_or_create(
        name="Refresh prices",
        defaults={
            "task": "workers.tasks.refresh_prices",
            "interval": interval,
            "expire_seconds": max(5, math.ceil(every * 1.5)),
            "description": "Fetch the due symbols in batches of REALTIME_BATCH_SIZE; "
            "kwargs may set batch_size.",
        },
    )
    # Historical models fire no signals: tell beat its schedule changed.
    tasks_changed = apps.get_model("django_celery_beat", "PeriodicTasks")
    from django.utils import timezone

    tasks_changed.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule_delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="Refresh prices"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("market", "0002_quote_state"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
