"""The market data source interface: quotes and daily history for a list of symbols.

A provider answers for a whole batch. A failure of the source itself (timeout, HTTP 5xx,
rate limit) raises; a failure of single symbols (unknown, no data) is reported per symbol
in the result, so a partial batch is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, TypeVar


class MarketState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    PRE = "pre"
    POST = "post"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest price of one symbol as one source reported it (major currency units)."""

    symbol: str
    price: Decimal
    previous_close: Decimal | None
    day_high: Decimal | None
    day_low: Decimal | None
    volume: int | None
    currency: str
    quote_time: datetime  # timezone-aware, when the source priced it
    source: str
    market_state: MarketState = MarketState.UNKNOWN

    @property
    def change(self) -> Decimal | None:
        if self.previous_close is None:
            return None
        return self.price - self.previous_close

    @property
    def change_percent(self) -> Decimal | None:
        if not self.previous_close:
            return None
        return (self.price - self.previous_close) / self.previous_close * 100


@dataclass(frozen=True, slots=True)
class Bar:
    """One trading day for one symbol, unadjusted."""

    symbol: str
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int | None
    source: str


class FailureKind(StrEnum):
    UNKNOWN_SYMBOL = "unknown_symbol"  # the source does not list it
    NO_DATA = "no_data"  # listed, but nothing usable came back (empty, NaN)
    UNSUPPORTED = "unsupported"  # this source does not cover this kind of asset
    SOURCE_ERROR = "source_error"  # the source failed as a whole (set by the chain): retry later
    OUT_OF_TIME = "out_of_time"  # not asked, or no answer, before the batch's deadline: retry


# The cap of a source whose time does not grow with the batch (one request for all, or none):
# the largest batch REALTIME_BATCH_SIZE allows.
ONE_REQUEST_CAP = 1_000

# Failures that say nothing about the symbol, only about this attempt: worth a retry.
TRANSIENT_KINDS = frozenset({FailureKind.SOURCE_ERROR, FailureKind.OUT_OF_TIME})


@dataclass(frozen=True, slots=True)
class SymbolFailure:
    kind: FailureKind
    reason: str
    source: str


@dataclass
class QuoteBatch:
    quotes: dict[str, Quote] = field(default_factory=dict)
    failures: dict[str, SymbolFailure] = field(default_factory=dict)


@dataclass
class HistoryBatch:
    bars: dict[str, list[Bar]] = field(default_factory=dict)
    failures: dict[str, SymbolFailure] = field(default_factory=dict)


class ProviderError(Exception):
    """The source as a whole failed for this batch.

    `partial` carries what the source did answer before it failed (for example the symbols
    fetched before a rate limit hit), so the caller can keep it and retry only the rest.
    """

    def __init__(self, source: str, message: str, partial: QuoteBatch | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.partial = partial


class SourceUnavailable(ProviderError):
    """Timeout, connection error, HTTP 5xx or a body we cannot parse: worth a retry later."""


class RateLimited(SourceUnavailable):
    """The source said slow down (HTTP 429 or its own rate-limit error)."""

    def __init__(
        self,
        source: str,
        message: str,
        retry_after: float | None = None,
        partial: QuoteBatch | None = None,
    ) -> None:
        super().__init__(source, message, partial)
        self.retry_after = retry_after


class OutOfTime(ProviderError):
    """The batch's deadline left no room for the source's next request.

    Not the source's fault: it does not count toward the circuit breaker, and the symbols it
    did not answer are retried in a later batch.
    """


class PriceProvider(Protocol):
    """A market data source. Implementations must be safe to call from a Celery worker.

    One instance serves every batch of a process (its HTTP client keeps connections open) and
    is closed when the process exits. Within a batch, a source honours the deadline the chain
    sets (`deadline.deadline_current()`): it starts no request that could outlive it.
    """

    name: str

    def covers(self, symbol: str) -> bool:
        """Whether this source can price the symbol at all (crypto-only sources say no to AAPL)."""
        ...

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        """Latest quotes; raises SourceUnavailable/RateLimited when the source itself fails."""
        ...

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        """Daily unadjusted bars for the last `days` calendar days."""
        ...

    def batch_cap(self, budget_seconds: float) -> int:
        """The most symbols one call should take so it can answer within `budget_seconds`."""
        ...

    def close(self) -> None:
        """Release what the source holds open (HTTP connections)."""
        ...


def lookup_of(provider: PriceProvider) -> Callable[[Sequence[str]], QuoteBatch]:
    """How to look symbols up at this source (is it one it lists, and at what price?).

    A source may define `lookup(symbols) -> QuoteBatch` when it answers that differently from
    `quotes` (the simulated market prices any symbol, but lists only its universe); the
    others are asked their `quotes`, where a symbol they do not list fails UNKNOWN_SYMBOL.
    """
    lookup = getattr(provider, "lookup", None)
    return lookup if callable(lookup) else provider.quotes


Parsed = TypeVar("Parsed")


def symbols_covered(
    symbols: Sequence[str],
    parse: Callable[[str], Parsed | None],
    *,
    source: str,
    reason: str,
    failures: dict[str, SymbolFailure],
) -> dict[str, Parsed]:
    """Symbols a source can parse, with what it parsed (repeats once); the rest UNSUPPORTED."""
    covered: dict[str, Parsed] = {}
    for symbol in symbols:
        parsed = parse(symbol)
        if parsed is None:
            failures[symbol] = SymbolFailure(FailureKind.UNSUPPORTED, reason, source)
        else:
            covered[symbol] = parsed
    return covered
