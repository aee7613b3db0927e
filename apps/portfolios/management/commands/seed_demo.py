"""`manage.py seed_demo`: the demo user, assets and portfolios; running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.portfolios.demo import demo_seed
from apps.portfolios.demo_login import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Create the demo user, about 20 well-known assets and two portfolios (idempotent)."

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

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PROFILE == "production" and not options["allow_production"]:
            raise CommandError(
                "Refusing to create a demo login in production; pass --allow-production to insist."
            )
        result = demo_seed(password=options["password"])
        if not result.changed:
            self.stdout.write("Demo data already present: nothing changed.")
        else:
            if result.assets_created:
                self.stdout.write(
                    f"Assets created ({len(result.assets_created)}): "
                    + ", ".join(result.assets_created)
                )
            for name in result.portfolios_created:
                self.stdout.write(f"Portfolio created: {name}")
            self.stdout.write(f"Positions created: {result.positions_created}")
        if result.user_created:
            self.stdout.write(
                self.style.SUCCESS(f"Demo login: {result.username} / {options['password']}")
            )
        else:
            self.stdout.write(
                f"Demo login: {result.username} (existing user; its password was not changed)"
            )
