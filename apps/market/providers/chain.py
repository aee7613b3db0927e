"""An ordered failover chain of sources: each symbol is priced by the first source that can.

Every quote keeps its own source, so prices from different sources are never mixed silently.
With a deadline, a source is asked only while time is left, and what the deadline cut off is
reported OUT_OF_TIME (retried later, never held against the source's breaker).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from apps.market.providers.base import (
    TRANSIENT_KINDS,
    Bar,
    FailureKind,
    OutOfTime,
    PriceProvider,
    ProviderError,
    Quote,
    RateLimited,
    SymbolFailure,
    lookup_of,
)
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.deadline import Deadline, deadline_scope

logger = logging.getLogger("personal_finance.realtime.providers.chain")


@dataclass
class ChainResult:
    quotes: dict[str, Quote] = field(default_factory=dict)
    failures: dict[str, list[SymbolFailure]] = field(default_factory=dict)
    errors: list[ProviderError] = field(default_factory=list)

    def failure_reason(self, symbol: str) -> str:
        return "; ".join(f"{f.source}: {f.reason}" for f in self.failures.get(symbol, []))

    @property
    def transient_symbols(self) -> list[str]:
        """Failed symbols that only met source outages or the deadline: worth a retry."""
        return [
            symbol
            for symbol, failures in self.failures.items()
            if all(f.kind in TRANSIENT_KINDS for f in failures)
        ]

    @property
    def retry_after(self) -> float | None:
        waits = [e.retry_after for e in self.errors if isinstance(e, RateLimited) and e.retry_after]
        return max(waits) if waits else None


@dataclass
class HistoryResult(ChainResult):
    """The chain's answer for daily bars: `bars` per symbol (its `quotes` stay empty)."""

    bars: dict[str, list[Bar]] = field(default_factory=dict)


class ProviderChain:
    def __init__(self, providers: Sequence[PriceProvider], breaker: CircuitBreaker | None = None):
        if not providers:
            raise ValueError("a provider chain needs at least one source")
        self.providers = list(providers)
        self.breaker = breaker or CircuitBreaker()

    def batch_cap(self, budget_seconds: float) -> int:
        """The most symbols a batch may hold so that every source can answer in the budget."""
        return min(provider.batch_cap(budget_seconds) for provider in self.providers)

    def lookup(self, symbols: Sequence[str], *, deadline: Deadline | None = None) -> ChainResult:
        """As `quotes`, asking each source to look the symbols up (`base.lookup_of`)."""
        return self.quotes(symbols, deadline=deadline, lookup=True)

    def quotes(
        self, symbols: Sequence[str], *, deadline: Deadline | None = None, lookup: bool = False
    ) -> ChainResult:
        result = ChainResult()
        remaining = list(dict.fromkeys(symbols))
        for provider in self.providers:
            covered = [symbol for symbol in remaining if provider.covers(symbol)]
            if not covered:
                continue
            if closed := self._closed(provider, deadline, "batch"):
                self._fail(result, covered, provider.name, *closed)
                continue
            with deadline_scope(deadline):
                answered = self._ask(provider, covered, result, lookup=lookup)
            remaining = [symbol for symbol in remaining if symbol not in answered]
            if not remaining:
                break
        self._uncovered(result, remaining)
        return result

    def history(
        self, symbols: Sequence[str], days: int, *, deadline: Deadline | None = None
    ) -> HistoryResult:
        """Daily bars of each symbol from the first source that has them, failing over as
        `quotes` does: an open breaker or a passed deadline skips a source, a source that
        fails (or answers nothing for a symbol) leaves the symbol to the next one."""
        result = HistoryResult()
        remaining = list(dict.fromkeys(symbols))
        for provider in self.providers:
            covered = [symbol for symbol in remaining if provider.covers(symbol)]
            if not covered:
                continue
            if closed := self._closed(provider, deadline, "fetch"):
                self._fail(result, covered, provider.name, *closed)
            else:
                with deadline_scope(deadline):
                    self._ask_history(provider, covered, days, result)
                remaining = [symbol for symbol in remaining if symbol not in result.bars]
        self._uncovered(result, remaining)
        return result

    def _closed(
        self, provider: PriceProvider, deadline: Deadline | None, what: str
    ) -> tuple[str, FailureKind] | None:
        """Why `provider` is not asked now (its reason and kind), or None when it may be."""
        if deadline is not None and deadline.passed:
            return f"not asked: the {what}'s deadline has passed", FailureKind.OUT_OF_TIME
        if self.breaker.is_open(provider.name):
            return "skipped: circuit open", FailureKind.SOURCE_ERROR
        return None

    def _uncovered(self, result: ChainResult | HistoryResult, remaining: list[str]) -> None:
        """The symbols no source answered nor failed: none covers them."""
        for symbol in remaining:
            if symbol not in result.failures:
                self._fail(
                    result, [symbol], "chain", "no source covers it", FailureKind.UNSUPPORTED
                )

    def _ask_history(
        self, provider: PriceProvider, symbols: list[str], days: int, result: HistoryResult
    ) -> None:
        try:
            batch = provider.history(symbols, days)
        except ProviderError as error:
            out_of_time = isinstance(error, OutOfTime)
            if not out_of_time:
                self.breaker.record_failure(provider.name)
                result.errors.append(error)
            logger.warning("%s history failed for %d symbols: %s", provider.name, len(symbols),
                           error)  # fmt: skip
            kind = FailureKind.OUT_OF_TIME if out_of_time else FailureKind.SOURCE_ERROR
            self._fail(result, symbols, provider.name, str(error), kind)
            return
        self.breaker.record_success(provider.name)
        for symbol in symbols:
            bars = batch.bars.get(symbol)
            if bars:  # answered: what earlier sources said of it no longer counts
                result.bars[symbol] = bars
                result.failures.pop(symbol, None)
            elif symbol in batch.failures:
                result.failures.setdefault(symbol, []).append(batch.failures[symbol])
            else:
                self._fail(result, [symbol], provider.name, "no bars for it", FailureKind.NO_DATA)

    def _ask(
        self, provider: PriceProvider, symbols: list[str], result: ChainResult, *, lookup: bool
    ) -> set[str]:
        try:
            batch = lookup_of(provider)(symbols) if lookup else provider.quotes(symbols)
        except OutOfTime as error:
            logger.info("%s: %s", provider.name, error)
            return self._partial(provider.name, symbols, result, error, FailureKind.OUT_OF_TIME)
        except ProviderError as error:
            opened = self.breaker.record_failure(provider.name)
            logger.warning("%s failed for %d symbols: %s%s", provider.name, len(symbols), error,
                           " (circuit now open)" if opened else "")  # fmt: skip
            result.errors.append(error)
            return self._partial(provider.name, symbols, result, error, FailureKind.SOURCE_ERROR)
        self.breaker.record_success(provider.name)
        result.quotes.update(batch.quotes)
        for symbol, failure in batch.failures.items():
            result.failures.setdefault(symbol, []).append(failure)
        silent = [s for s in symbols if s not in batch.quotes and s not in batch.failures]
        self._fail(result, silent, provider.name, "no answer for it", FailureKind.NO_DATA)
        for symbol in batch.quotes:
            result.failures.pop(symbol, None)
        return set(batch.quotes)

    @classmethod
    def _partial(
        cls, source: str, symbols: list[str], result: ChainResult, error: ProviderError,
        kind: FailureKind,
    ) -> set[str]:  # fmt: skip
        """Keep what the source answered before it failed; the rest fail with `kind`."""
        answered = error.partial.quotes if error.partial else {}
        partial = {symbol: answered[symbol] for symbol in symbols if symbol in answered}
        result.quotes.update(partial)
        for symbol in partial:  # priced after all: earlier sources' failures no longer count
            result.failures.pop(symbol, None)
        missing = [symbol for symbol in symbols if symbol not in partial]
        cls._fail(result, missing, source, str(error), kind)
        return set(partial)

    @staticmethod
    def _fail(
        result: ChainResult, symbols: list[str], source: str, reason: str, kind: FailureKind
    ) -> None:
        for symbol in symbols:
            result.failures.setdefault(symbol, []).append(SymbolFailure(kind, reason, source))
