"""A batch within its task's time budget: a slow source keeps what it priced, the rest is retried.

Yahoo is the local stand-in made slow (every chart answer waits), reached by yfinance's own
code over real HTTP; CoinGecko is a local stand-in that never answers. Nothing of ours is
mocked: the deadline comes from the budget given to `price_batch_fetch`, as a task gives its
soft time limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from apps.market.models import Asset
from apps.market.pipeline import fetch_seconds, price_batch_cap, price_batch_fetch
from apps.market.providers.base import FailureKind
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.chain import ProviderChain
from apps.market.providers.coingecko import CoinGeckoProvider
from apps.market.providers.deadline import Deadline
from apps.market.providers.simulated import SimulatedProvider
from apps.market.providers.yahoo import (
    PLANNED_REQUEST_SECONDS,
    REQUESTS_PER_SYMBOL,
    YahooProvider,
    yfinance_prepare,
)
from tests.factories import asset_create
from tests.standins.http_standin import HttpStandin
from tests.standins.yahoo import YahooStandin, yahoo_standin

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:yfinance.*"),
]

LATENCY = 0.4  # each chart answer: a symbol's first fetch is two of them (timezone, quote)
TIMEOUT = 0.5
BUDGET = 4.0  # the sources get 3 s of it; the rest is kept for the save
SYMBOLS = [f"SLOW{index}" for index in range(10)]


def saved_at() -> datetime:
    """A minute ago, when the test runs (not when the module was collected: in a long run
    that could be older than the staleness threshold)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


@pytest.fixture(scope="module", autouse=True)
def yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return yfinance_prepare(tmp_path_factory.mktemp("yfinance"))


@pytest.fixture
def slow_yahoo() -> Iterator[YahooStandin]:
    with yahoo_standin() as standin:
        standin.chart_latency = LATENCY
        for symbol in SYMBOLS:
            quoted_at = saved_at() + timedelta(seconds=30)
            standin.listing(symbol, price=101.0, previous_close=100.0, quote_time=quoted_at)
        yield standin


@pytest.fixture
def fresh_breakers() -> Iterator[None]:
    for source in ("yahoo", "coingecko", "simulated"):
        CircuitBreaker().reset(source)
    yield
    for source in ("yahoo", "coingecko", "simulated"):
        CircuitBreaker().reset(source)


def assets_priced_a_minute_ago(symbols: list[str]) -> None:
    at = saved_at()
    for symbol in symbols:
        asset_create(
            symbol, current_price=Decimal("99"), previous_close=Decimal("98"), source="yahoo",
            quote_time=at, last_updated=at,
        )  # fmt: skip


def test_a_slow_yahoo_saves_what_it_priced_in_the_budget_and_hands_back_the_rest(
    slow_yahoo: YahooStandin, fresh_breakers: None
) -> None:
    assets_priced_a_minute_ago(SYMBOLS)
    yahoo = YahooProvider(session=slow_yahoo.session(), threads=1, pace_seconds=0, timeout=TIMEOUT)
    started = time.monotonic()

    summary = price_batch_fetch(
        symbols=SYMBOLS, budget_seconds=BUDGET, chain=ProviderChain([yahoo]), publish=False
    )

    took = time.monotonic() - started
    assert took < fetch_seconds(BUDGET) + 0.5  # well inside the budget, the save included
    # 0.8 s a symbol, started only while its two requests could still time out (1 s) by 3 s.
    assert 2 <= len(summary.changed) <= 4, summary
    assert sorted(summary.changed) == SYMBOLS[: len(summary.changed)]  # in order, one thread
    unfinished = SYMBOLS[len(summary.changed) :]
    assert sorted(summary.transient) == unfinished  # the task retries these, and only these
    assert all("deadline" in summary.failed[symbol] for symbol in unfinished)
    assets = {asset.symbol: asset for asset in Asset.objects.all()}
    for symbol in summary.changed:
        assert assets[symbol].current_price == Decimal("101")
        assert assets[symbol].stale_reason == ""
    for symbol in unfinished:  # kept as they were: not overdue, so not flagged yet
        assert assets[symbol].current_price == Decimal("99")
        assert assets[symbol].stale_reason == ""
    requested = {r.path.rsplit("/", 1)[-1] for r in slow_yahoo.server.requests_to("/v8/")}
    assert requested == set(summary.changed)  # nothing was started that could not finish
    assert not CircuitBreaker().is_open("yahoo")


def test_symbols_the_budget_cut_off_are_flagged_stale_once_overdue(
    slow_yahoo: YahooStandin, fresh_breakers: None
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    for symbol in SYMBOLS:
        asset_create(
            symbol, current_price=Decimal("99"), quote_time=long_ago, last_updated=long_ago
        )
    yahoo = YahooProvider(session=slow_yahoo.session(), threads=1, pace_seconds=0, timeout=TIMEOUT)

    summary = price_batch_fetch(
        symbols=SYMBOLS, budget_seconds=BUDGET, chain=ProviderChain([yahoo]), publish=False
    )

    unfinished = sorted(set(SYMBOLS) - set(summary.changed))
    assert unfinished
    stale = dict(Asset.objects.filter(symbol__in=unfinished).values_list("symbol", "stale_reason"))
    assert all(reason.startswith("no fresh quote: yahoo: ") for reason in stale.values()), stale
    assert Asset.objects.get(symbol=unfinished[0]).current_price == Decimal("99")  # never 0


def test_yahoo_alone_reports_the_symbols_it_had_no_time_for_as_out_of_time(
    slow_yahoo: YahooStandin, fresh_breakers: None
) -> None:
    yahoo = YahooProvider(session=slow_yahoo.session(), threads=2, pace_seconds=0, timeout=TIMEOUT)
    started = time.monotonic()

    result = ProviderChain([yahoo]).quotes(SYMBOLS, deadline=Deadline.after(2.0))

    assert time.monotonic() - started < 2.2
    assert result.quotes, "the symbols started in time are kept"
    assert set(result.quotes) | set(result.failures) == set(SYMBOLS)
    kinds = {f.kind for symbol in result.failures for f in result.failures[symbol]}
    assert kinds == {FailureKind.OUT_OF_TIME}
    assert result.errors == []  # not held against the source


@pytest.fixture
def coingecko_hanging() -> Iterator[HttpStandin]:
    with HttpStandin() as standin:
        standin.routes["/"] = standin.hang(30)
        yield standin


def test_a_source_whose_request_could_outlive_the_deadline_is_not_asked_and_the_next_one_is(
    coingecko_hanging: HttpStandin, fresh_breakers: None
) -> None:
    coingecko = CoinGeckoProvider(base_url=coingecko_hanging.base_url, timeout=10)
    chain = ProviderChain([coingecko, SimulatedProvider()])
    started = time.monotonic()
    try:
        result = chain.quotes(["BTC-USD"], deadline=Deadline.after(3.0))
    finally:
        coingecko.close()

    assert time.monotonic() - started < 1.0
    assert result.quotes["BTC-USD"].source == "simulated"
    assert coingecko_hanging.requests == []
    assert not CircuitBreaker().is_open("coingecko")
    assert result.errors == []


def test_a_deadline_already_passed_asks_no_source_and_reports_out_of_time() -> None:
    source = SimulatedProvider()

    result = ProviderChain([source]).quotes(["AAPL"], deadline=Deadline.after(0))

    assert result.quotes == {}
    assert [f.kind for f in result.failures["AAPL"]] == [FailureKind.OUT_OF_TIME]
    assert result.transient_symbols == ["AAPL"]


def test_yahoos_batch_cap_is_what_fits_a_tasks_budget() -> None:
    yahoo = YahooProvider(threads=2, pace_seconds=0.2, timeout=10)
    budget = fetch_seconds(60)  # the fetch task's soft time limit

    cap = yahoo.batch_cap(budget)

    # The last symbol starts in time for all its requests to time out inside the budget.
    last_start = (cap - 1) * PLANNED_REQUEST_SECONDS / 2
    assert last_start + REQUESTS_PER_SYMBOL * 10 <= budget
    assert last_start + PLANNED_REQUEST_SECONDS / 2 + REQUESTS_PER_SYMBOL * 10 > budget
    assert yahoo.batch_cap(budget / 2) < cap
    assert yahoo.batch_cap(1) == 1


def test_a_batch_is_capped_by_the_tightest_source_of_the_chain() -> None:
    assert price_batch_cap(source="simulated", budget_seconds=60) == 1_000
    yahoo_cap = price_batch_cap(source="yahoo", budget_seconds=60)
    assert yahoo_cap < 100  # a batch of 100 is split for Yahoo
    assert YahooProvider().batch_cap(fetch_seconds(60)) == yahoo_cap
    chain = ProviderChain([SimulatedProvider(), YahooProvider()])
    assert chain.batch_cap(fetch_seconds(60)) == yahoo_cap


def test_a_tick_is_split_into_batches_that_fit_yahoos_budget() -> None:
    from workers.tasks import refresh_prices

    symbols = [f"Y{index:03d}" for index in range(100)]
    Asset.objects.bulk_create(Asset(symbol=symbol, name=symbol) for symbol in symbols)
    cap = price_batch_cap(source="yahoo", budget_seconds=60)

    tick = refresh_prices.apply(kwargs={"symbols": symbols, "batch_size": 100, "source": "yahoo"})

    assert tick.get() == {"symbols": 100, "batches": 2, "batch_size": cap}
