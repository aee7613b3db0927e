"""`manage.py start_price_feed`: store the schedule, then run a worker with embedded beat."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.market.requests import prices_refresh_request
from apps.market.schedule import interval_seconds, refresh_schedule_apply
from config.logconfig import REALTIME_LOGGER


class Command(BaseCommand):
    help = (
        "Store the refresh interval and batch size in the periodic task, then run a Celery "
        "worker with embedded beat in the foreground until Ctrl-C (safe under systemd)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, help="seconds between refreshes")
        parser.add_argument("--batch-size", type=int, help="symbols per fetch task")
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
        parser.add_argument("--verbose", action="store_true", help="debug logging")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if options["interval"] is not None and not 1 <= options["interval"] <= 86_400:
            raise CommandError("--interval must be between 1 and 86400 seconds")
        if batch_size is not None and not 1 <= batch_size <= 1_000:
            raise CommandError("--batch-size must be between 1 and 1000")
        # Without --interval the schedule keeps its interval (an edit in /admin survives a
        # restart); a new schedule starts at REALTIME_UPDATE_INTERVAL.
        task = refresh_schedule_apply(every_seconds=options["interval"], batch_size=batch_size)
        batches = json.loads(task.kwargs or "{}").get("batch_size") or settings.REALTIME_BATCH_SIZE
        self.stdout.write(
            f"Price feed: every {interval_seconds(task)}s, batches of {batches}, sources "
            f"{','.join(settings.PRICE_SOURCES)} (periodic task '{task.name}')"
        )
        # Beat's first tick comes one interval after it starts: with --interval 300 that is
        # five minutes of old prices, so the first refresh is queued now.
        prices_refresh_request(batch_size=batches)
        self.stdout.write("First refresh queued now; then one every interval.")
        from config.celery import app

        level = "DEBUG" if options["verbose"] else "INFO"
        logging.getLogger(REALTIME_LOGGER).setLevel(level)
        app.worker_main([
            "worker", "--beat", "--events",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel", level, "--concurrency", str(options["concurrency"]),
            "--hostname", "price-feed@%h",
        ])  # fmt: skip
