"""`manage.py start_price_feed`: store the schedule, then run a worker with embedded beat."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.market.schedule import refresh_schedule_apply
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
        interval = options["interval"] or settings.REALTIME_UPDATE_INTERVAL
        batch_size = options["batch_size"]
        if not 1 <= interval <= 86_400:
            raise CommandError("--interval must be between 1 and 86400 seconds")
        if batch_size is not None and not 1 <= batch_size <= 1_000:
            raise CommandError("--batch-size must be between 1 and 1000")
        task = refresh_schedule_apply(every_seconds=interval, batch_size=batch_size)
        self.stdout.write(
            f"Price feed: every {interval}s, batches of "
            f"{batch_size or settings.REALTIME_BATCH_SIZE}, sources "
            f"{','.join(settings.PRICE_SOURCES)} (periodic task '{task.name}')"
        )
        from config.celery import app

        level = "DEBUG" if options["verbose"] else "INFO"
        logging.getLogger(REALTIME_LOGGER).setLevel(level)
        app.worker_main([
            "worker", "--beat", "--events",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            "--loglevel", level, "--concurrency", str(options["concurrency"]),
            "--hostname", "price-feed@%h",
        ])  # fmt: skip
