"""Yahoo answering 429, or garbage, under a real worker and beat, with a socket watching.

Yahoo is the local stand-in reached by the worker's own yfinance
(tests/standins/yahoo_worker.py). Garbage is every kind Yahoo has been seen to send: a
truncated body, JSON of another shape, a well-formed chart with negative prices.

- With a next source in the chain, prices keep coming from it, each frame naming its source.
- Alone, Yahoo's symbols are flagged stale (last good price kept, never 0 or null) and
  /realtime/health/ names the price feed, in words safe to publish, once no batch saves
  prices; both heal when Yahoo answers again.
- Either way the broker's queue stays bounded while ticks keep coming.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from apps.market.models import Asset
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.simulated import SimulatedProvider
from apps.market.providers.yahoo import yfinance_prepare
from apps.market.schedule import refresh_schedule_apply
from tests.conftest import procfile_command
from tests.faults.stack import (
    Listener,
    Stack,
    StartProcess,
    broker_backlog,
    http_json,
    poll,
    stack_start,
)
from tests.standins.yahoo import Scenario, YahooStandin, yahoo_standin
from tests.standins.yahoo_worker import PORT_VARIABLE

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:yfinance.*"),
]

SYMBOLS = ["SRC0", "SRC1", "SRC2", "SRC3"]
INTERVAL = 2  # seconds between ticks; a quote is stale after three (6 s)
GARBAGE = [Scenario.MALFORMED, Scenario.WRONG_SHAPE, Scenario.NEGATIVE_PRICES, Scenario.MALFORMED]
FAILURES = {
    "rate_limited": dict.fromkeys(SYMBOLS, Scenario.RATE_LIMITED),
    "garbage": dict(zip(SYMBOLS, GARBAGE, strict=True)),
}
# Messages waiting or delivered and not acked: a tick and its batch, their retries and a few
# revaluations. A queue that grew with the ticks would pass this within the watch.
BACKLOG_BOUND = 12
BREAKER_SECONDS = 8
WATCH_TICKS = 6
LEAKS = ("429", "Error", "JSON", "Traceback", "yahoo", "malformed")


@pytest.fixture
def yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[YahooStandin]:
    """Yahoo quoting each symbol about where the simulated market is, so a failover to it
    is not refused as a jump."""
    yfinance_prepare(tmp_path_factory.mktemp("yfinance"))
    CircuitBreaker().reset("yahoo")
    now = datetime.now(UTC)
    with yahoo_standin() as standin:
        for symbol in SYMBOLS:
            price = float(SimulatedProvider().quote_at(symbol, now).price)
            standin.listing(
                symbol, price=price, previous_close=price * 0.99,
                quote_time=now.replace(microsecond=0) - timedelta(minutes=1),
            )  # fmt: skip
        yield standin
    CircuitBreaker().reset("yahoo")


def stack_on_yahoo(
    start_process: StartProcess, child_env: dict[str, str], yahoo: YahooStandin, sources: str
) -> Stack:
    for symbol in SYMBOLS:
        Asset.objects.create(symbol=symbol, name=symbol, always_refresh=True)
    refresh_schedule_apply(every_seconds=INTERVAL)
    env = {
        **child_env, "PRICE_SOURCES": sources, PORT_VARIABLE: str(yahoo.port),
        "STATUS_ANON_RATE": "10000/min",
        # Production skips a failing source for 60 s; the same breaker, shortened for the test.
        "PRICE_SOURCE_BREAKER_SECONDS": str(BREAKER_SECONDS),
    }  # fmt: skip
    launcher = "python -m tests.standins.yahoo_worker "
    return stack_start(
        start_process, env, worker_command=procfile_command("worker").replace("celery ", launcher)
    )


async def watching(url: str) -> Listener:
    listener = await Listener.open(url)
    for symbol in SYMBOLS:
        await listener.client.send("subscribe_asset", {"symbol": symbol})
    return listener


def latest(listener: Listener, since: float) -> dict[str, dict[str, Any]]:
    """The last asset update of each symbol received since `since`."""
    return {m["data"]["symbol"]: m["data"] for m in listener.of_type("asset_update", since)}


async def backlog_watched(seconds: float) -> int:
    """The largest broker backlog seen over `seconds` of ticks."""
    largest = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        largest = max(largest, await asyncio.to_thread(broker_backlog, settings.REDIS_URL))
        await asyncio.sleep(0.25)
    return largest


async def health(stack: Stack) -> tuple[int, dict[str, Any]]:
    return await asyncio.to_thread(http_json, f"{stack.web.http_url}/realtime/health/")


async def healthy_on(stack: Stack, listener: Listener, source: str, *, timeout: float = 30) -> None:
    """Every symbol pushed fresh from `source`, and the health check green."""
    since = time.monotonic()
    await poll(
        lambda: all(
            (data := latest(listener, since).get(symbol)) and data["source"] == source
            and not data["stale"] for symbol in SYMBOLS
        ),
        timeout=timeout, what=f"fresh prices from {source} on the socket",
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while (reply := await health(stack))[0] != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    assert reply[0] == 200, reply


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_yahoo_failing_fails_over_to_the_next_source_without_queue_growth(
    child_env: dict[str, str], start_process: StartProcess, yahoo: YahooStandin, failure: str
) -> None:
    stack = stack_on_yahoo(start_process, child_env, yahoo, "yahoo,simulated")
    measured: dict[str, float] = {}

    async def scenario() -> None:
        listener = await watching(stack.web.ws_url)
        await healthy_on(stack, listener, "yahoo")
        for symbol, scenario in FAILURES[failure].items():
            yahoo.fail(symbol, scenario)
        failed = time.monotonic()
        await poll(
            lambda: all(
                (data := latest(listener, failed).get(symbol)) and data["source"] == "simulated"
                for symbol in SYMBOLS
            ),
            timeout=30, what="prices from the next source on the socket",
        )  # fmt: skip
        measured["failover_after"] = round(time.monotonic() - failed, 2)
        measured["backlog_max"] = await backlog_watched(WATCH_TICKS * INTERVAL)
        status, body = await health(stack)
        assert (status, body["checks"]["price_feed"]) == (200, "ok"), body
        for data in latest(listener, failed).values():
            assert data["price"] > 0
        await listener.close()

    asyncio.run(scenario())
    print(f"\nyahoo {failure}, failover to simulated: {measured}")
    assert measured["backlog_max"] <= BACKLOG_BOUND, measured


@pytest.mark.slow
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_yahoo_failing_alone_flags_prices_stale_and_health_names_the_price_feed(
    child_env: dict[str, str], start_process: StartProcess, yahoo: YahooStandin, failure: str
) -> None:
    stack = stack_on_yahoo(start_process, child_env, yahoo, "yahoo")
    measured: dict[str, float] = {}

    async def scenario() -> None:
        listener = await watching(stack.web.ws_url)
        await healthy_on(stack, listener, "yahoo")
        good = {symbol: data["price"] for symbol, data in latest(listener, 0).items()}
        for symbol, scenario in FAILURES[failure].items():
            yahoo.fail(symbol, scenario)
        failed = time.monotonic()
        await poll(
            lambda: all(
                (data := latest(listener, failed).get(symbol)) and data["stale"]
                for symbol in SYMBOLS
            ),
            timeout=30, what="every symbol pushed stale",
        )  # fmt: skip
        measured["stale_after"] = round(time.monotonic() - failed, 2)
        for symbol, data in latest(listener, failed).items():
            assert data["price"] == good[symbol], data  # the last good price, never 0 or null
            assert "yahoo" in data["stale_reason"], data
        backlog = asyncio.ensure_future(backlog_watched(WATCH_TICKS * INTERVAL))
        while (reply := await health(stack))[0] == 200 and time.monotonic() - failed < 30:
            await asyncio.sleep(0.25)
        measured["health_503_after"] = round(time.monotonic() - failed, 2)
        status, body = reply
        assert status == 503, body
        problem = body["checks"]["price_feed"]
        assert problem.startswith("price_feed: last successful batch"), body
        assert not any(word in problem for word in LEAKS), problem
        assert body["price_feed_running"] is False
        assert {body["checks"][part] for part in ("redis", "database", "broker")} == {"ok"}
        measured["backlog_max"] = await backlog

        for symbol in SYMBOLS:
            yahoo.fail(symbol, Scenario.QUOTE)
        healed = time.monotonic()
        # Yahoo's circuit breaker, opened by the failures, lets it be asked again after
        # BREAKER_SECONDS.
        await healthy_on(stack, listener, "yahoo", timeout=90)
        measured["healed_after"] = round(time.monotonic() - healed, 2)
        await listener.close()

    asyncio.run(scenario())
    print(f"\nyahoo {failure}, alone: {measured}")
    assert measured["backlog_max"] <= BACKLOG_BOUND, measured
