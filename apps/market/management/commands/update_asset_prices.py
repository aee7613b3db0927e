"""`manage.py update_asset_prices`: a one-time update through the same path as the feed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.alerts.evaluation import (
    alerts_check_portfolios,
    alerts_check_symbols,
    portfolio_ids_alerted,
)
from apps.market.history import price_history_fetch
from apps.market.pipeline import BatchSummary, batches_split, price_batch_fetch, price_chain
from apps.market.providers.base import Quote
from apps.market.providers.registry import SOURCES
from apps.market.selectors import symbols_active, symbols_unknown
from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.portfolios.services import portfolios_revalue


class Command(BaseCommand):
    help = "Fetch prices now (all active assets, or --symbols), save them and push the updates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="only these symbols")
        parser.add_argument(
            "--historical", action="store_true", help="fetch daily history instead of quotes"
        )
        parser.add_argument(
            "--days", type=int, default=30, help="days of history with --historical (default 30)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="fetch and print; write and push nothing"
        )
        parser.add_argument(
            "--source", choices=sorted(SOURCES), help="one source instead of PRICE_SOURCES"
        )
        parser.add_argument("--verbose", action="store_true", help="print every symbol's result")

    def handle(self, *args: Any, **options: Any) -> None:
        symbols = self._symbols(options["symbols"])
        if not 1 <= options["days"] <= 3650:
            raise CommandError("--days must be between 1 and 3650")
        if options["days"] != 30 and not options["historical"]:
            raise CommandError("--days needs --historical")
        if not symbols:
            raise CommandError("No active assets to update (add some in /admin or run seed_demo).")
        source = options["source"]
        self.stdout.write(
            f"{'Dry run: ' if options['dry_run'] else ''}{len(symbols)} symbol(s) from "
            f"{source or ','.join(settings.PRICE_SOURCES)}"
        )
        if options["historical"]:
            self._history(symbols, source, options["days"], dry_run=options["dry_run"])
        else:
            self._quotes(symbols, source, dry_run=options["dry_run"], verbose=options["verbose"])

    def _symbols(self, given: Sequence[str] | None) -> list[str]:
        if not given:
            return symbols_active()
        try:
            symbols = [symbol_normalize(raw) for raw in given]
        except InvalidSymbol as error:
            raise CommandError(str(error)) from None
        unknown = symbols_unknown(symbols)
        if unknown:
            raise CommandError(
                f"Unknown symbol(s): {', '.join(unknown)}. Add them as assets in /admin first."
            )
        return list(dict.fromkeys(symbols))

    def _progress(self, done: int, total: int) -> None:
        """A bar redrawn in place on a terminal; one line per batch in a log."""
        width = 30
        filled = width * done // total
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} symbols"
        tty = self.stderr.isatty()
        self.stderr.write(
            ("\r" if tty else "") + line, ending="\n" if done == total or not tty else ""
        )
        self.stderr.flush()

    def _quotes(
        self, symbols: list[str], source: str | None, *, dry_run: bool, verbose: bool
    ) -> None:
        total = BatchSummary()
        batches = batches_split(symbols, settings.REALTIME_BATCH_SIZE)
        done = fetched = 0
        for batch in batches:
            if dry_run:
                result = price_chain(source).quotes(batch)
                for quote in result.quotes.values():
                    self.stdout.write(self._quote_line(quote))
                fetched += len(result.quotes)
                total.failed |= {s: result.failure_reason(s) for s in result.failures}
            else:
                summary = price_batch_fetch(symbols=batch, source=source)
                total.changed += summary.changed
                total.unchanged += summary.unchanged + summary.older
                total.rejected |= summary.rejected
                total.failed |= summary.failed
                total.in_flight += summary.in_flight
                if verbose:
                    for symbol in summary.changed:
                        self.stdout.write(f"  {symbol}: updated")
            done += len(batch)
            self._progress(done, len(symbols))
        if total.changed:
            self._after_save(total.changed)
        self._summary(total, fetched=fetched, dry_run=dry_run)

    def _after_save(self, changed: list[str]) -> None:
        """What the feed's tasks do after a save: check alerts, revalue (also the portfolios
        with alerts nobody watches), check their alerts."""
        fired = alerts_check_symbols(symbols=changed).fired
        also = portfolio_ids_alerted(symbols=changed)
        valuations = portfolios_revalue(symbols=changed, also=also)
        fired += alerts_check_portfolios(valuations=valuations).fired
        if fired:
            self.stdout.write(f"Alerts fired: {len(fired)}")

    @staticmethod
    def _quote_line(quote: Quote) -> str:
        change = f"{quote.change_percent:+.2f}%" if quote.change_percent is not None else "n/a"
        return (
            f"  {quote.symbol:<12} {quote.price:>14} {quote.currency} {change:>8}  "
            f"{quote.quote_time.isoformat()}  [{quote.source}]"
        )

    def _summary(self, total: BatchSummary, *, fetched: int, dry_run: bool) -> None:
        if dry_run:
            self.stdout.write(f"Fetched: {fetched} (nothing written or pushed)")
        else:
            self.stdout.write(
                f"Updated: {len(total.changed)}  Unchanged: {len(total.unchanged)}  "
                f"Rejected: {len(total.rejected)}  Failed: {len(total.failed)}"
                + (f"  In flight elsewhere: {len(total.in_flight)}" if total.in_flight else "")
            )
        for symbol, reason in {**total.rejected, **total.failed}.items():
            self.stderr.write(f"  {symbol}: {reason}")
        if total.failed or total.rejected:
            raise CommandError(f"{len(total.failed) + len(total.rejected)} symbol(s) failed")

    def _history(self, symbols: list[str], source: str | None, days: int, *, dry_run: bool) -> None:
        """Daily bars through the source chain, failing over as the charts' fetches do."""
        written = fetched = 0
        failed: dict[str, str] = {}
        done = 0
        for batch in batches_split(symbols, settings.REALTIME_BATCH_SIZE):
            if dry_run:
                result = price_chain(source).history(batch, days)
                fetched += sum(len(bars) for bars in result.bars.values())
                failed |= {symbol: result.failure_reason(symbol) for symbol in result.failures}
            else:
                summary = price_history_fetch(symbols=batch, days=days, source=source)
                fetched, written = fetched + summary.fetched, written + summary.saved
                failed |= summary.failed
            done += len(batch)
            self._progress(done, len(symbols))
        self.stdout.write(
            f"Daily bars fetched: {fetched}"
            + (" (nothing written)" if dry_run else f", saved: {written}")
        )
        for symbol, reason in failed.items():
            self.stderr.write(f"  {symbol}: {reason}")
        if failed:
            raise CommandError(f"{len(failed)} symbol(s) failed")
