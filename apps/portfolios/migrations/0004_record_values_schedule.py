"""The daily record of portfolio values: a crontab row in django-celery-beat (edit it in /admin).

Created at PORTFOLIO_VALUES_RECORD_HOUR:PORTFOLIO_VALUES_RECORD_MINUTE UTC (22:30 by default,
after the US close). A run that waited past the end of that UTC day is dropped (its
`expire_seconds`) rather than recorded as the next day's close; the backfill can rebuild it.
"""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Record portfolio values"


def schedule_create(apps, schema_editor):
    from django.utils import timezone

    hour = settings.PORTFOLIO_VALUES_RECORD_HOUR
    minute = settings.PORTFOLIO_VALUES_RECORD_MINUTE
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*",
        month_of_year="*", timezone="UTC",
    )
    until_midnight = 86_400 - (hour * 3600 + minute * 60)
    task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "workers.value_tasks.record_portfolio_values",
            "crontab": crontab,
            "expire_seconds": max(60, until_midnight - 60),
            "description": "Record every portfolio's value as the day's close (UTC date of "
            "the run). If you move it in time, keep expire_seconds ending before midnight UTC.",
        },
    )
    # Historical models fire no signals: tell beat its schedule changed.
    changed = apps.get_model("django_celery_beat", "PeriodicTasks")
    changed.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule_delete(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolios", "0003_portfolio_daily_value"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]
