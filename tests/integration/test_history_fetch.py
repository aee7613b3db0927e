"""Daily bars on demand: fetched through the source chain with failover, saved, and announced
to each asker's group (real Redis, PostgreSQL and channel layer; the Yahoo edge is the
stand-in, reached by yfinance's own code over HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.market.history import price_history_fetch
from apps.market.models import Asset, PriceBar
from apps.market.providers import registry
from apps.market.providers.base import (
    ONE_REQUEST_CAP,
    Bar,
    HistoryBatch,
    QuoteBatch,
    SourceUnavailable,
)
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.chain import ProviderChain
from apps.market.providers.deadline import Deadline
from apps.market.providers.simulated import SimulatedProvider
from apps.market.providers.yahoo import YahooProvider, yfinance_prepare
from apps.market.requests import price_history_request
from apps.streams.groups import user_group
from config.redis_client import redis_client, redis_key
from tests.channel_layer import frames_heard
from tests.factories import asset_priced, user_create
from tests.standins.yahoo import Scenario, YahooStandin, yahoo_standin
from workers.history_tasks import fetch_price_history

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:yfinance.*"),
]

TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module", autouse=True)
def yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return yfinance_prepare(tmp_path_factory.mktemp("yfinance"))


@pytest.fixture
def standin() -> Iterator[YahooStandin]:
    with yahoo_standin() as server:
        yield server


@pytest.fixture
def yahoo(standin: YahooStandin) -> Iterator[YahooProvider]:
    provider = YahooProvider(session=standin.session(), threads=2, pace_seconds=0.01, timeout=1.0)
    yield provider
    CircuitBreaker().reset(provider.name)


class Source:
    """A source of daily bars that can be made to fail; counts its calls."""

    def __init__(self, *, fails: Exception | None = None, bars: int = 0, low: str = "9") -> None:
        self.name = f"source-{uuid.uuid4().hex[:8]}"
        self.fails, self.bars, self.low = fails, bars, Decimal(low)
        self.calls = 0

    def covers(self, symbol: str) -> bool:
        return True

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        return QuoteBatch()

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        self.calls += 1
        if self.fails is not None:
            raise self.fails
        ten = Decimal(10)
        return HistoryBatch(bars={
            symbol: [Bar(symbol, TODAY - timedelta(days=n), ten, ten, self.low, ten, None,
                         self.name) for n in range(1, self.bars + 1)]
            for symbol in symbols
        })  # fmt: skip

    def batch_cap(self, budget_seconds: float) -> int:
        return ONE_REQUEST_CAP

    def close(self) -> None:
        pass


def down() -> Source:
    return Source(fails=SourceUnavailable("down", "HTTP 503"))


@pytest.fixture
def aapl() -> Asset:
    return asset_priced("AAPL", "190", "188")


@pytest.fixture
def owner() -> User:
    return user_create()


def fetch_and_hear(
    capture: Any, groups: list[str], **fetch: Any
) -> tuple[Any, dict[str, list[dict]]]:
    """Run the fetch here (its writes are in this test's transaction), then publish what it
    published after commit while the groups listen."""
    with capture() as callbacks:
        summary = price_history_fetch(**fetch)

    def publish() -> None:
        for callback in callbacks:
            callback()

    return summary, frames_heard(groups, publish)


def closes(symbol: str) -> dict[str, str]:
    bars = PriceBar.objects.filter(asset__symbol=symbol).order_by("date")
    return {bar.date.isoformat(): bar.source for bar in bars}


# --- failover ---------------------------------------------------------------------------------


def test_when_yahoo_is_rate_limited_the_simulated_source_fills_the_history(
    standin: YahooStandin, yahoo: YahooProvider, aapl: Asset
) -> None:
    standin.fail("AAPL", Scenario.RATE_LIMITED)
    chain = ProviderChain([yahoo, SimulatedProvider()])

    summary = price_history_fetch(symbols=["AAPL"], days=10, chain=chain)

    assert standin.chart_requests("AAPL")  # Yahoo was asked first, through yfinance
    assert summary.failed == {}
    assert summary.saved == 10
    assert summary.sources == {"simulated": 10}
    saved = closes("AAPL")
    assert list(saved) == [(TODAY - timedelta(days=n)).isoformat() for n in range(10, 0, -1)]
    assert set(saved.values()) == {"simulated"}


def test_yahoo_answers_first_when_it_can(
    standin: YahooStandin, yahoo: YahooProvider, aapl: Asset
) -> None:
    standin.listing("AAPL", sessions=30)

    summary = price_history_fetch(
        symbols=["AAPL"], days=20, chain=ProviderChain([yahoo, SimulatedProvider()])
    )

    assert summary.failed == {}
    assert set(summary.sources) == {"yahoo"}
    # Yahoo skips weekends: fewer bars than calendar days, none of them on a Saturday.
    assert 10 <= summary.saved < 20
    assert all(bar.date.weekday() < 5 for bar in PriceBar.objects.filter(asset=aapl))


def test_an_open_circuit_skips_the_source_without_asking_it(aapl: Asset) -> None:
    broken, backup = down(), Source(bars=3)
    breaker = CircuitBreaker(threshold=1)
    try:
        price_history_fetch(
            symbols=["AAPL"], days=3, chain=ProviderChain([broken, backup], breaker)
        )
        summary = price_history_fetch(
            symbols=["AAPL"], days=3, chain=ProviderChain([broken, backup], breaker)
        )
    finally:
        breaker.reset(broken.name)

    assert broken.calls == 1  # the second fetch found its circuit open
    assert summary.sources == {backup.name: 3}


def test_impossible_bars_are_refused_and_the_symbol_fails_when_nothing_is_left(
    aapl: Asset,
) -> None:
    summary = price_history_fetch(
        symbols=["AAPL"], days=4, chain=ProviderChain([Source(bars=4, low="0")])
    )

    assert summary.refused == 4
    assert summary.saved == 0
    assert "impossible price" in summary.failed["AAPL"]
    assert not PriceBar.objects.exists()


def test_the_command_fails_over_too(
    standin: YahooStandin, aapl: Asset, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin.fail("AAPL", Scenario.RATE_LIMITED)
    session = standin.session()
    monkeypatch.setitem(registry.SOURCES, "yahoo", lambda: YahooProvider(session=session,
                        threads=2, pace_seconds=0.01, timeout=1.0))  # fmt: skip
    settings.PRICE_SOURCES = ["yahoo", "simulated"]
    out = StringIO()
    try:
        call_command("update_asset_prices", "--symbols", "AAPL", "--historical", "--days", "7",
                     stdout=out, stderr=StringIO())  # fmt: skip
    finally:
        CircuitBreaker().reset("yahoo")
        registry.providers_close()

    assert "Daily bars fetched: 7, saved: 7" in out.getvalue()
    assert set(closes("AAPL").values()) == {"simulated"}


# --- telling the askers -------------------------------------------------------------------------


def test_every_asker_hears_history_ready_once_the_bars_are_saved(
    aapl: Asset, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    other, bystander = user_create(), user_create()
    for user in (owner, other):
        assert price_history_request(symbol="AAPL", days=30, user_id=user.pk) is True
    groups = [user_group(u.pk) for u in (owner, other, bystander)]

    summary, heard = fetch_and_hear(
        django_capture_on_commit_callbacks, groups,
        symbols=["AAPL"], days=30, chain=ProviderChain([SimulatedProvider()]),
    )  # fmt: skip

    assert summary.saved == 30
    assert summary.announced == 2
    for user in (owner, other):
        [frame] = heard[user_group(user.pk)]
        assert frame["type"] == "history_ready"
        assert frame["data"] == {"symbol": "AAPL", "bars": 30, "ranges": ["1m"], "error": None}
    assert heard[user_group(bystander.pk)] == []
    # The fetch is over: the next asker queues a fetch of their own.
    assert not redis_client().exists(redis_key("history", "pending", "AAPL", 30))


def test_a_fetch_no_source_could_answer_tells_the_asker_why_and_is_not_asked_again_at_once(
    aapl: Asset, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    price_history_request(symbol="AAPL", days=30, user_id=owner.pk)
    first, second = down(), Source(fails=SourceUnavailable("also-down", "timed out"))

    summary, heard = fetch_and_hear(
        django_capture_on_commit_callbacks, [user_group(owner.pk)],
        symbols=["AAPL"], days=30, chain=ProviderChain([first, second]),
    )  # fmt: skip

    [frame] = heard[user_group(owner.pk)]
    assert frame["data"]["bars"] == 0
    assert frame["data"]["ranges"] == []
    assert "HTTP 503" in frame["data"]["error"]
    assert "timed out" in frame["data"]["error"]
    assert set(summary.transient) == {"AAPL"}
    # The chart reads `ready` with the reason now, instead of queueing the same failure again.
    api = APIClient()
    api.force_authenticate(owner)
    body = api.get("/api/market/assets/AAPL/series/?range=1m").json()
    assert body["status"] == "ready"
    assert "could not be fetched" in body["reason"]


def test_a_transient_failure_before_the_last_try_stays_in_flight(
    aapl: Asset, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    price_history_request(symbol="AAPL", days=30, user_id=owner.pk)

    summary, heard = fetch_and_hear(
        django_capture_on_commit_callbacks, [user_group(owner.pk)],
        symbols=["AAPL"], days=30, chain=ProviderChain([down()]), last_try=False,
    )  # fmt: skip

    assert summary.transient == ["AAPL"]
    assert heard[user_group(owner.pk)] == []  # the retry will tell them
    assert redis_client().exists(redis_key("history", "pending", "AAPL", 30))


def test_a_passed_deadline_asks_no_source(aapl: Asset) -> None:
    source = Source(bars=3)
    result = ProviderChain([source]).history(["AAPL"], 3, deadline=Deadline.after(0))

    assert source.calls == 0
    assert result.transient_symbols == ["AAPL"]


def test_a_young_listing_is_ready_with_what_the_sources_have(
    aapl: Asset, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        price_history_fetch(symbols=["AAPL"], days=182, chain=ProviderChain([Source(bars=12)]))
    api = APIClient()
    api.force_authenticate(owner)

    body = api.get("/api/market/assets/AAPL/series/?range=6m").json()

    assert body["status"] == "ready"
    assert len(body["points"]) == 12
    assert "the sources have daily bars from" in body["reason"]
    assert not redis_client().exists(redis_key("history", "pending", "AAPL", 182))


# --- the task ------------------------------------------------------------------------------------


def test_the_task_retries_a_source_outage_then_tells_the_asker_it_failed(
    standin: YahooStandin, aapl: Asset, owner: User, settings: Any,
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    standin.fail("AAPL", Scenario.RATE_LIMITED)
    session = standin.session()
    monkeypatch.setitem(registry.SOURCES, "yahoo", lambda: YahooProvider(session=session,
                        threads=2, pace_seconds=0.01, timeout=1.0))  # fmt: skip
    settings.PRICE_SOURCES = ["yahoo"]
    price_history_request(symbol="AAPL", days=30, user_id=owner.pk)

    try:
        with django_capture_on_commit_callbacks() as callbacks:
            fetch_price_history.apply(kwargs={"symbol": "AAPL", "days": 30, "user_ids": [owner.pk]})
        heard = frames_heard([user_group(owner.pk)], lambda: [c() for c in callbacks])
    finally:
        CircuitBreaker().reset("yahoo")
        registry.providers_close()

    tries = [r for r in caplog.records if r.name == "personal_finance.realtime.history"]
    assert len(tries) == 4  # the first try and its three retries, the last one telling
    assert standin.chart_requests("AAPL")  # each through yfinance to the stand-in
    [frame] = heard[user_group(owner.pk)]
    assert "HTTP 429" in frame["data"]["error"]
