"""Overlapping batches: a symbol is fetched by one batch at a time (per-symbol locks in the real
Redis), and a source that keeps answering with older quotes ends up flagged stale.

The sources are small in-test classes implementing the provider interface: the market data
source is the one edge these tests fake.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connections

from apps.market.models import Asset
from apps.market.pipeline import (
    OLDER_LIMIT,
    BatchSummary,
    SymbolLocks,
    price_batch_fetch,
    symbol_lock_key,
)
from apps.market.providers.base import (
    ONE_REQUEST_CAP,
    HistoryBatch,
    MarketState,
    Quote,
    QuoteBatch,
)
from apps.market.providers.chain import ProviderChain
from config.redis_client import redis_client
from tests.factories import asset_create

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime.now(UTC).replace(microsecond=0)


class Source:
    """Prices every symbol at `price` as of `quoted_at`; records what it was asked."""

    def __init__(self, name: str, price: str = "100", quoted_at: datetime = NOW) -> None:
        self.name = name
        self.price = price
        self.quoted_at = quoted_at
        self.calls: list[list[str]] = []
        self.gate: threading.Event | None = None  # set: answers only once the gate opens
        self.asked = threading.Event()

    def covers(self, symbol: str) -> bool:
        return True

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        self.calls.append(list(symbols))
        self.asked.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        return QuoteBatch(quotes={symbol: self._quote(symbol) for symbol in symbols})

    def _quote(self, symbol: str) -> Quote:
        price = Decimal(self.price)
        return Quote(
            symbol=symbol, price=price, previous_close=price, day_high=price, day_low=price,
            volume=1, currency="USD", quote_time=self.quoted_at, source=self.name,
            market_state=MarketState.OPEN,
        )  # fmt: skip

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        return HistoryBatch()

    def batch_cap(self, budget_seconds: float) -> int:
        return ONE_REQUEST_CAP

    def close(self) -> None:
        pass


def fetch(symbols: list[str], source: Source) -> BatchSummary:
    return price_batch_fetch(symbols=symbols, chain=ProviderChain([source]), publish=False)


def test_a_batch_overlapping_one_in_flight_fetches_only_its_free_symbols() -> None:
    for symbol in ("AAPL", "MSFT"):
        asset_create(symbol)
    source = Source("primary")
    held = SymbolLocks.take(["AAPL"])
    try:
        summary = fetch(["AAPL", "MSFT"], source)
    finally:
        held.release()

    assert source.calls == [["MSFT"]]
    assert summary.changed == ["MSFT"]
    assert summary.in_flight == ["AAPL"]
    assert summary.skipped == ""
    assert "AAPL" not in summary.failed  # in flight elsewhere is not a failure
    assert Asset.objects.get(symbol="AAPL").current_price is None


def test_two_overlapping_batches_at_the_same_time_fetch_each_symbol_once() -> None:
    for symbol in ("AAPL", "MSFT", "NVDA"):
        asset_create(symbol)
    slow, quick = Source("slow"), Source("quick")
    slow.gate = threading.Event()

    def run(symbols: list[str], source: Source) -> BatchSummary:
        try:
            return fetch(symbols, source)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(run, ["AAPL", "MSFT"], slow)
        assert slow.asked.wait(10)
        second = fetch(["MSFT", "NVDA"], quick)
        slow.gate.set()
        first_summary = first.result(timeout=10)

    assert slow.calls == [["AAPL", "MSFT"]]
    assert quick.calls == [["NVDA"]]
    assert (sorted(first_summary.changed), second.changed) == (["AAPL", "MSFT"], ["NVDA"])
    assert second.in_flight == ["MSFT"]
    assert Asset.objects.get(symbol="MSFT").source == "slow"


def test_symbol_locks_are_taken_in_one_step_with_one_expiry() -> None:
    first = SymbolLocks.take(["AAPL", "MSFT"], seconds=5)
    second = SymbolLocks.take(["MSFT", "NVDA", "NVDA"], seconds=5)

    assert (first.symbols, second.symbols) == (["AAPL", "MSFT"], ["NVDA"])
    ttls = [redis_client().pttl(symbol_lock_key(s)) for s in ("AAPL", "MSFT", "NVDA")]
    assert all(0 < ttl <= 5000 for ttl in ttls), ttls
    assert first.release() == 2
    assert SymbolLocks.take(["AAPL", "MSFT", "NVDA"]).symbols == ["AAPL", "MSFT"]


def test_a_batch_never_releases_a_lock_another_batch_took_after_its_own_expired() -> None:
    late = SymbolLocks.take(["AAPL"], seconds=0.2)
    redis_client().delete(symbol_lock_key("AAPL"))  # its lock ran out while it was still busy
    current = SymbolLocks.take(["AAPL"])
    assert current.symbols == ["AAPL"]

    assert late.release() == 0

    assert SymbolLocks.take(["AAPL"]).symbols == []  # still held by the current batch
    assert current.release() == 1


def test_every_symbol_in_flight_skips_the_batch_without_asking_a_source() -> None:
    asset_create("AAPL")
    source = Source("primary")
    held = SymbolLocks.take(["AAPL"])
    try:
        summary = fetch(["AAPL"], source)
    finally:
        held.release()

    assert source.calls == []
    assert summary.skipped == "every symbol is already in flight"
    assert summary.in_flight == ["AAPL"]


def saved_from_the_primary(symbol: str) -> None:
    """The primary's last quote is NOW; a fallback's is an hour older."""
    fetch([symbol], Source("primary", price="100", quoted_at=NOW))


def test_one_older_fallback_quote_is_neither_a_failure_nor_stale() -> None:
    asset_create("EURUSD=X", asset_type="fx")
    saved_from_the_primary("EURUSD=X")

    summary = fetch(
        ["EURUSD=X"], Source("fallback", price="99", quoted_at=NOW - timedelta(hours=1))
    )

    assert summary.older == ["EURUSD=X"]
    assert summary.failed == {}
    asset = Asset.objects.get(symbol="EURUSD=X")
    assert (asset.current_price, asset.source, asset.stale_reason) == (
        Decimal("100"),
        "primary",
        "",
    )


def test_older_quotes_batch_after_batch_flag_the_symbol_stale_with_the_reason() -> None:
    asset_create("EURUSD=X", asset_type="fx")
    saved_from_the_primary("EURUSD=X")
    fallback = Source("fallback", price="99", quoted_at=NOW - timedelta(hours=1))

    summaries = [fetch(["EURUSD=X"], fallback) for _ in range(OLDER_LIMIT)]

    assert [s.failed for s in summaries[:-1]] == [{}] * (OLDER_LIMIT - 1)
    reason = summaries[-1].failed["EURUSD=X"]
    assert reason.startswith(f"fallback: only quotes older than the saved one, {OLDER_LIMIT} ")
    asset = Asset.objects.get(symbol="EURUSD=X")
    assert asset.stale_reason == f"no fresh quote: {reason}"
    assert asset.current_price == Decimal("100")  # the last good value, flagged, never 0


def test_a_current_quote_between_older_ones_starts_the_count_again() -> None:
    asset_create("EURUSD=X", asset_type="fx")
    saved_from_the_primary("EURUSD=X")
    fallback = Source("fallback", price="99", quoted_at=NOW - timedelta(hours=1))
    for _ in range(OLDER_LIMIT - 1):
        fetch(["EURUSD=X"], fallback)

    saved_from_the_primary("EURUSD=X")  # the same quote again: unchanged, yet current
    summaries = [fetch(["EURUSD=X"], fallback) for _ in range(OLDER_LIMIT - 1)]

    assert all(summary.failed == {} for summary in summaries)
    assert Asset.objects.get(symbol="EURUSD=X").stale_reason == ""
