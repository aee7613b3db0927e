"""`manage.py backfill_portfolio_values`: past days of portfolio value from daily bars."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.portfolios.models import Portfolio
from apps.portfolios.value_backfill import CARRY_DAYS, BackfillResult, portfolio_values_backfill

MAX_DAYS = 3650
ASSUMPTION = (
    "Assumed today's positions for every past day: what was bought or sold since is not "
    "known, so a past value is what today's holdings were worth then."
)


class Command(BaseCommand):
    help = (
        "Rebuild past days of portfolio value (the days before today) from the daily bars "
        "(PriceBar) and FX pair closes. It ASSUMES TODAY'S POSITIONS for every past day. "
        f"A day with a close or rate missing (none within {CARRY_DAYS} days) is recorded "
        "incomplete with the reason; a day with no close at all is not written. A day the "
        "daily task recorded, or a complete one, is kept unless --overwrite."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=365, help="days before today to rebuild (default 365)"
        )
        parser.add_argument(
            "--portfolio",
            type=int,
            action="append",
            dest="portfolios",
            metavar="ID",
            help="only this portfolio (repeat for more; default: every portfolio with positions)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="value the days and print; write nothing"
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="replace days already recorded (by default only incomplete backfilled days "
            "are rebuilt; the daily task's records and complete days are kept)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days, wanted = options["days"], options["portfolios"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}, not {days}")
        if wanted:
            unknown = sorted(set(wanted) - set(Portfolio.objects.filter(pk__in=wanted)
                                               .values_list("pk", flat=True)))  # fmt: skip
            if unknown:
                raise CommandError(f"No portfolio with id {', '.join(map(str, unknown))}")
        dry_run = options["dry_run"]
        self.stdout.write(self.style.WARNING(ASSUMPTION))
        totals = BackfillResult(0, "", "")
        count = 0
        for result in portfolio_values_backfill(
            days=days, portfolio_ids=wanted, overwrite=options["overwrite"], dry_run=dry_run
        ):
            count += 1
            self.stdout.write(self._line(result, dry_run))
            totals.written += result.written
            totals.kept += result.kept
            totals.incomplete += result.incomplete
            totals.unknown += result.unknown
        if not count:
            self.stdout.write("No portfolio holds anything: nothing to backfill.")
        verb = "would write" if dry_run else "written"
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}{count} portfolio(s), {days} day(s) each: "
            f"{totals.written} day(s) {verb} ({totals.incomplete} incomplete), "
            f"{totals.kept} already recorded kept, {totals.unknown} with no close at all "
            "(not written); assumed today's positions" + ("; nothing written" if dry_run else "")
        )

    @staticmethod
    def _line(result: BackfillResult, dry_run: bool) -> str:
        head = f"  {result.portfolio_id} {result.name!r} ({result.currency}): "
        if not result.positions:
            return head + "holds nothing today, skipped"
        line = head + (
            f"{result.written} day(s) {'to write' if dry_run else 'written'}, "
            f"{result.incomplete} incomplete, {result.kept} kept"
            + (f", {result.unknown} with no close at all" if result.unknown else "")
        )
        if result.missing:
            line += "; missing: " + "; ".join(sorted(result.missing))
        return line
