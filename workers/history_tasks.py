"""Celery tasks of the charts: daily bars fetched on demand (imported by workers.tasks)."""

from __future__ import annotations
