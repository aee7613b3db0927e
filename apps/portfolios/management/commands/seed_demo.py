"""`manage.py seed_demo`: the demo user, assets and portfolios; running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.market.providers.registry import SOURCES
from apps.portfolios.demo import DEMO_HISTORY_DAYS, DemoHistoryResult, demo_history_seed, demo_seed
from apps.portfolios.demo_login import DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Create the demo user, about 20 well-known assets and two portfolios, fetch a year of "
        "daily bars for those assets and rebuild the portfolios' past values from them, "
        "assuming today's positions (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help="Password for the demo user when it is created (default: %(default)s).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with the production profile (a known login on a public site).",
        )
        parser.add_argument(
            "--history-days",
            type=int,
            default=DEMO_HISTORY_DAYS,
            help="days of daily bars and past portfolio values (default %(default)s; 0: none)",
        )
        parser.add_argument(
            "--source",
            choices=sorted(SOURCES),
            help="where the bars come from instead of PRICE_SOURCES (make run: simulated)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PROFILE == "production" and not options["allow_production"]:
            raise CommandError(
                "Refusing to create a demo login in production; pass --allow-production to insist."
            )
        if not 0 <= options["history_days"] <= 3650:
            raise CommandError("--history-days must be between 0 and 3650")
        result = demo_seed(password=options["password"])
        history = (
            demo_history_seed(days=options["history_days"], source=options["source"])
            if options["history_days"]
            else DemoHistoryResult()
        )
        if not result.changed and not history.changed:
            self.stdout.write("Demo data already present: nothing changed.")
        if result.changed:
            if result.assets_created:
                self.stdout.write(
                    f"Assets created ({len(result.assets_created)}): "
                    + ", ".join(result.assets_created)
                )
            for name in result.portfolios_created:
                self.stdout.write(f"Portfolio created: {name}")
            self.stdout.write(f"Positions created: {result.positions_created}")
        self._history(history)
        if result.user_created:
            self.stdout.write(
                self.style.SUCCESS(f"Demo login: {result.username} / {options['password']}")
            )
        else:
            self.stdout.write(
                f"Demo login: {result.username} (existing user; its password was not changed)"
            )

    def _history(self, history: DemoHistoryResult) -> None:
        if history.bars_saved:
            self.stdout.write(f"Daily bars saved: {history.bars_saved}")
        for symbol, reason in sorted(history.failed.items()):
            self.stderr.write(f"  no daily bars for {symbol}: {reason}")
        if history.days_written:
            self.stdout.write(
                f"Past portfolio values recorded: {history.days_written} day(s), assuming "
                "today's positions on every past day"
            )
