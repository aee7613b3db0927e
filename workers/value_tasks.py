"""Celery tasks of portfolio value history: the daily record (imported by workers.tasks)."""

from __future__ import annotations
