"""The failover chain of sources, with its circuit breaker in the real Redis.

The sources are small in-test classes implementing the provider interface: the market data
source is the one edge these tests fake.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.market.providers.base import (
    ONE_REQUEST_CAP,
    FailureKind,
    HistoryBatch,
    MarketState,
    Quote,
    QuoteBatch,
    RateLimited,
    SourceUnavailable,
    SymbolFailure,
)
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.chain import ProviderChain
from tests.conftest import wait_until


def quote(symbol: str, source: str, price: str = "100") -> Quote:
    return Quote(
        symbol=symbol,
        price=Decimal(price),
        previous_close=Decimal(price),
        day_high=Decimal(price),
        day_low=Decimal(price),
        volume=1000,
        currency="USD",
        quote_time=datetime.now(UTC),
        source=source,
        market_state=MarketState.OPEN,
    )


class Source:
    """A source that prices what it knows, refuses what it does not, and can be made to fail."""

    def __init__(
        self,
        name: str,
        prices: dict[str, str] | None = None,
        *,
        unknown: Sequence[str] = (),
        covers: Callable[[str], bool] = lambda symbol: True,
        fails: Exception | None = None,
    ) -> None:
        self.name = name
        self.prices = prices or {}
        self.unknown = set(unknown)
        self._covers = covers
        self.fails = fails
        self.calls: list[list[str]] = []

    def covers(self, symbol: str) -> bool:
        return self._covers(symbol)

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        self.calls.append(list(symbols))
        if self.fails is not None:
            raise self.fails
        batch = QuoteBatch()
        for symbol in symbols:
            if symbol in self.prices:
                batch.quotes[symbol] = quote(symbol, self.name, self.prices[symbol])
            elif symbol in self.unknown:
                batch.failures[symbol] = SymbolFailure(
                    FailureKind.UNKNOWN_SYMBOL, f"{self.name} does not list {symbol}", self.name
                )
            else:
                batch.failures[symbol] = SymbolFailure(
                    FailureKind.NO_DATA, f"{self.name} has no data", self.name
                )
        return batch

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        return HistoryBatch()

    def batch_cap(self, budget_seconds: float) -> int:
        return ONE_REQUEST_CAP

    def close(self) -> None:
        pass


@pytest.fixture
def name() -> Iterator[Callable[[str], str]]:
    """Unique source names, so tests share no breaker state; their breakers are reset after."""
    given: list[str] = []

    def unique(label: str) -> str:
        given.append(f"{label}-{uuid.uuid4().hex[:8]}")
        return given[-1]

    yield unique
    for source in given:
        CircuitBreaker().reset(source)


def test_when_the_first_source_is_down_the_second_answers(name: Callable[[str], str]) -> None:
    down = Source(name("down"), fails=SourceUnavailable("down", "HTTP 503"))
    backup = Source(name("backup"), {"AAPL": "230", "MSFT": "420"})

    result = ProviderChain([down, backup]).quotes(["AAPL", "MSFT"])

    assert {s: (q.price, q.source) for s, q in result.quotes.items()} == {
        "AAPL": (Decimal("230"), backup.name),
        "MSFT": (Decimal("420"), backup.name),
    }
    assert result.failures == {}
    assert result.transient_symbols == []
    assert [str(error) for error in result.errors] == ["down: HTTP 503"]


def test_each_quote_keeps_the_source_that_priced_it(name: Callable[[str], str]) -> None:
    first = Source(name("first"), {"AAPL": "230"})
    second = Source(name("second"), {"AAPL": "999", "BTC-USD": "65000"})

    result = ProviderChain([first, second]).quotes(["AAPL", "BTC-USD"])

    assert result.quotes["AAPL"].source == first.name
    assert result.quotes["AAPL"].price == Decimal("230")
    assert result.quotes["BTC-USD"].source == second.name
    assert second.calls == [["BTC-USD"]]  # AAPL is not asked twice


def test_rate_limited_partial_results_are_kept_and_only_the_rest_moves_on(
    name: Callable[[str], str],
) -> None:
    partial = QuoteBatch(quotes={"AAPL": quote("AAPL", "limited", "230")})
    limited = Source(
        name("limited"), fails=RateLimited("limited", "HTTP 429", retry_after=30, partial=partial)
    )
    backup = Source(name("backup"), {"AAPL": "999", "MSFT": "420", "NVDA": "135"})

    result = ProviderChain([limited, backup]).quotes(["AAPL", "MSFT", "NVDA"])

    assert {s: q.source for s, q in result.quotes.items()} == {
        "AAPL": "limited",
        "MSFT": backup.name,
        "NVDA": backup.name,
    }
    assert result.quotes["AAPL"].price == Decimal("230")
    assert backup.calls == [["MSFT", "NVDA"]]
    assert result.retry_after == 30
    assert result.failures == {}


def test_a_partial_answer_clears_an_earlier_sources_outage_for_that_symbol(
    name: Callable[[str], str],
) -> None:
    down = Source(name("down"), fails=SourceUnavailable("down", "timeout"))
    partial = QuoteBatch(quotes={"AAPL": quote("AAPL", "limited")})
    limited = Source(name("limited"), fails=RateLimited("limited", "HTTP 429", partial=partial))

    result = ProviderChain([down, limited]).quotes(["AAPL", "MSFT"])

    assert set(result.quotes) == {"AAPL"}
    assert result.transient_symbols == ["MSFT"]
    assert set(result.failures) == {"MSFT"}


def test_a_symbol_a_source_does_not_cover_goes_to_the_next(name: Callable[[str], str]) -> None:
    crypto_only = Source(
        name("crypto"), {"BTC-USD": "65000"}, covers=lambda symbol: symbol.endswith("-USD")
    )
    stocks = Source(name("stocks"), {"AAPL": "230", "BTC-USD": "1"})

    result = ProviderChain([crypto_only, stocks]).quotes(["AAPL", "BTC-USD"])

    assert crypto_only.calls == [["BTC-USD"]]
    assert stocks.calls == [["AAPL"]]
    assert {s: q.source for s, q in result.quotes.items()} == {
        "AAPL": stocks.name,
        "BTC-USD": crypto_only.name,
    }


def test_a_symbol_no_source_covers_is_reported_unsupported(name: Callable[[str], str]) -> None:
    crypto_only = Source(name("crypto"), covers=lambda symbol: symbol.endswith("-USD"))

    result = ProviderChain([crypto_only]).quotes(["AAPL"])

    assert crypto_only.calls == []
    assert [f.kind for f in result.failures["AAPL"]] == [FailureKind.UNSUPPORTED]
    assert result.failure_reason("AAPL") == "chain: no source covers it"
    assert result.transient_symbols == []


def test_an_unknown_symbol_is_reported_with_every_sources_reason(
    name: Callable[[str], str],
) -> None:
    first = Source(name("first"), {"AAPL": "230"}, unknown=["NOPE"])
    second = Source(name("second"), unknown=["NOPE"])

    result = ProviderChain([first, second]).quotes(["AAPL", "NOPE"])

    assert set(result.quotes) == {"AAPL"}
    assert [(f.source, f.kind) for f in result.failures["NOPE"]] == [
        (first.name, FailureKind.UNKNOWN_SYMBOL),
        (second.name, FailureKind.UNKNOWN_SYMBOL),
    ]
    assert result.failure_reason("NOPE") == (
        f"{first.name}: {first.name} does not list NOPE; "
        f"{second.name}: {second.name} does not list NOPE"
    )
    assert result.transient_symbols == []


def test_a_symbol_a_source_silently_leaves_out_is_not_called_uncovered(
    name: Callable[[str], str],
) -> None:
    class Forgetful(Source):
        def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
            self.calls.append(list(symbols))
            return QuoteBatch()

    forgetful = Forgetful(name("forgetful"))

    result = ProviderChain([forgetful]).quotes(["AAPL"])

    assert [(f.source, f.kind) for f in result.failures["AAPL"]] == [
        (forgetful.name, FailureKind.NO_DATA)
    ]


def test_transient_symbols_are_only_those_that_met_source_errors(
    name: Callable[[str], str],
) -> None:
    listing = Source(
        name("listing"),
        {"AAPL": "230"},
        unknown=["NOPE"],
        covers=lambda symbol: not symbol.endswith("-USD"),
    )
    down = Source(name("down"), fails=SourceUnavailable("down", "timeout"))
    crypto_down = Source(
        name("crypto-down"),
        covers=lambda symbol: symbol.endswith("-USD"),
        fails=SourceUnavailable("crypto-down", "connection refused"),
    )

    result = ProviderChain([crypto_down, listing, down]).quotes(["AAPL", "NOPE", "BTC-USD"])

    assert set(result.quotes) == {"AAPL"}
    # BTC-USD met only outages (worth a retry); NOPE was refused by a source that answered.
    assert result.transient_symbols == ["BTC-USD"]
    assert {f.kind for f in result.failures["BTC-USD"]} == {FailureKind.SOURCE_ERROR}
    assert FailureKind.UNKNOWN_SYMBOL in {f.kind for f in result.failures["NOPE"]}


def test_after_five_failures_the_breaker_opens_and_the_source_is_not_called(
    name: Callable[[str], str],
) -> None:
    down = Source(name("down"), fails=SourceUnavailable("down", "HTTP 502"))
    backup = Source(name("backup"), {"AAPL": "230"})
    chain = ProviderChain([down, backup], breaker=CircuitBreaker())

    for _ in range(5):
        assert chain.quotes(["AAPL"]).quotes["AAPL"].source == backup.name
    assert len(down.calls) == 5
    assert chain.breaker.is_open(down.name)

    result = chain.quotes(["AAPL"])

    assert len(down.calls) == 5  # skipped: not called at all
    assert result.quotes["AAPL"].source == backup.name
    assert len(backup.calls) == 6


def test_an_open_breaker_reports_its_symbols_as_transient(
    name: Callable[[str], str],
) -> None:
    down = Source(name("down"), fails=SourceUnavailable("down", "HTTP 502"))
    chain = ProviderChain([down], breaker=CircuitBreaker(threshold=1))

    chain.quotes(["AAPL"])
    result = chain.quotes(["AAPL"])

    assert len(down.calls) == 1
    assert result.transient_symbols == ["AAPL"]
    assert result.failure_reason("AAPL") == f"{down.name}: skipped: circuit open"


def test_a_success_resets_the_failure_count(
    name: Callable[[str], str],
) -> None:
    flaky = Source(name("flaky"), {"AAPL": "230"})
    chain = ProviderChain([flaky], breaker=CircuitBreaker())
    outage = SourceUnavailable(flaky.name, "timeout")

    for attempt in range(9):
        flaky.fails = None if attempt == 4 else outage
        chain.quotes(["AAPL"])

    assert not chain.breaker.is_open(flaky.name)  # 4 failures, a success, 4 failures
    assert len(flaky.calls) == 9


def test_the_breaker_lets_the_source_be_tried_again_after_open_seconds(
    name: Callable[[str], str],
) -> None:
    down = Source(name("down"), fails=SourceUnavailable("down", "HTTP 503"))
    chain = ProviderChain([down], breaker=CircuitBreaker(open_seconds=1))
    for _ in range(5):
        chain.quotes(["AAPL"])
    assert chain.breaker.is_open(down.name)

    chain.quotes(["AAPL"])
    assert len(down.calls) == 5

    wait_until(lambda: not chain.breaker.is_open(down.name), timeout=5, what="the breaker")
    down.fails = None
    down.prices = {"AAPL": "231"}
    result = chain.quotes(["AAPL"])

    assert len(down.calls) == 6
    assert result.quotes["AAPL"].source == down.name


def test_breakers_are_per_source(
    name: Callable[[str], str],
) -> None:
    breaker = CircuitBreaker(threshold=2)
    down, healthy = name("down"), name("healthy")

    breaker.record_failure(down)
    assert breaker.record_failure(down) is True

    assert breaker.is_open(down)
    assert not breaker.is_open(healthy)
    breaker.reset(down)
    assert not breaker.is_open(down)


def test_a_chain_needs_a_source() -> None:
    with pytest.raises(ValueError, match="at least one source"):
        ProviderChain([])
