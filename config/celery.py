"""The Celery app: configured from Django settings (`CELERY_*`), tasks live in `workers/`."""

from __future__ import annotations

from celery import Celery

from config.boot import settings_load_or_exit

settings_load_or_exit()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")
