"""A Celery worker SIGKILLed in the middle of a price batch, with the Redis broker.

Yahoo is the local stand-in made slow (every chart answer waits), reached by a real worker's
yfinance (tests/standins/yahoo_worker.py), so a batch is still fetching when the kill comes.
Two deaths, as Redis' transport sees them:

- the pool process alone (the OOM killer): the worker requeues the message at once
  (`reject_on_worker_lost`) and the batch is redone within seconds;
- the whole worker: the message stays unacknowledged in Redis and goes to the restarted
  worker once the broker's visibility timeout has passed (settings: the hard time limit plus
  the longest retry countdown plus a margin; Redis' default would be an hour).

Either way: nothing half saved (a batch's save is one transaction), and a socket watching the
symbols never sees a quote time go backwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psutil
import pytest

from apps.market.models import Asset
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.yahoo import yfinance_prepare
from tests.conftest import RunningProcess, procfile_command, wait_until, web_server_start
from tests.faults.stack import Listener, StartProcess, orm, poll, worker_start
from tests.standins.yahoo import YahooStandin, yahoo_standin
from tests.standins.yahoo_worker import PORT_VARIABLE

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:yfinance.*"),
]

SYMBOLS = [f"KIL{index}" for index in range(6)]
LATENCY = 0.5  # each chart answer; a symbol costs two (timezone, then quote)
SAVED_AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
QUOTED_AT = SAVED_AT + timedelta(minutes=2)


@pytest.fixture
def slow_yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[YahooStandin]:
    yfinance_prepare(tmp_path_factory.mktemp("yfinance"))
    CircuitBreaker().reset("yahoo")
    with yahoo_standin() as standin:
        standin.chart_latency = LATENCY
        for symbol in SYMBOLS:
            standin.listing(symbol, price=101.0, previous_close=100.0, quote_time=QUOTED_AT)
        yield standin
    CircuitBreaker().reset("yahoo")


def yahoo_worker_command() -> str:
    return procfile_command("worker").replace(
        "celery ", "python -m tests.standins.yahoo_worker ", 1
    )


def yahoo_env(child_env: dict[str, str], standin: YahooStandin, **extra: str) -> dict[str, str]:
    return {**child_env, "PRICE_SOURCES": "yahoo", PORT_VARIABLE: str(standin.port), **extra}


def pool_processes(worker: RunningProcess) -> list[psutil.Process]:
    """The worker's pool processes: children of the Celery main process."""
    shell = psutil.Process(worker.popen.pid)
    everyone = [shell, *shell.children(recursive=True)]
    python = [p for p in everyone if p.cmdline()[1:3] == ["-m", "tests.standins.yahoo_worker"]]
    main = min(python, key=lambda p: p.create_time())
    return [p for p in python if p.ppid() == main.pid]


def priced_long_ago() -> None:
    for symbol in SYMBOLS:
        Asset.objects.create(
            symbol=symbol, name=symbol, current_price=Decimal("99"), previous_close=Decimal("98"),
            source="yahoo", quote_time=SAVED_AT, last_updated=SAVED_AT,
        )  # fmt: skip


def saved_quote_times() -> dict[str, datetime | None]:
    return dict(Asset.objects.filter(symbol__in=SYMBOLS).values_list("symbol", "quote_time"))


def mid_batch(standin: YahooStandin) -> bool:
    """Some symbols asked, not all: the batch is fetching."""
    asked = sum(bool(standin.chart_requests(symbol)) for symbol in SYMBOLS)
    return 0 < asked < len(SYMBOLS)


async def watching(url: str) -> Listener:
    listener = await Listener.open(url)
    for symbol in SYMBOLS:
        await listener.client.send("subscribe_asset", {"symbol": symbol})
    await poll(
        lambda: len(listener.of_type("subscribed")) == len(SYMBOLS), timeout=20,
        what="the subscribe acks",
    )  # fmt: skip
    return listener


def quote_times_seen(listener: Listener) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {symbol: [] for symbol in SYMBOLS}
    for message in listener.of_type("asset_update"):
        seen[message["data"]["symbol"]].append(message["data"]["quote_time"])
    return seen


def assert_never_backwards(seen: dict[str, list[str]]) -> None:
    for symbol, times in seen.items():
        moments = [datetime.fromisoformat(t) for t in times]
        assert moments == sorted(moments), f"{symbol} went back in time: {times}"


def assert_whole_batch_saved_once() -> None:
    """Every symbol at the new quote, all in one save (one transaction stamps one time)."""
    rows = Asset.objects.filter(symbol__in=SYMBOLS)
    assert {row.quote_time for row in rows} == {QUOTED_AT}
    assert {row.current_price for row in rows} == {Decimal("101")}
    assert len({row.last_updated for row in rows}) == 1


def test_a_pool_process_killed_mid_batch_has_the_batch_redone_at_once(
    child_env: dict[str, str], start_process: StartProcess, slow_yahoo: YahooStandin
) -> None:
    from celery.result import AsyncResult

    from workers.tasks import fetch_price_batch

    priced_long_ago()
    server = web_server_start(start_process, child_env)
    worker = worker_start(
        start_process, yahoo_env(child_env, slow_yahoo), command=yahoo_worker_command()
    )
    measured: dict[str, float] = {}

    async def scenario() -> dict[str, Any]:
        listener = await watching(server.ws_url)
        result = fetch_price_batch.delay(SYMBOLS)
        await poll(lambda: mid_batch(slow_yahoo), timeout=30, what="the batch to be fetching")
        assert set((await orm(saved_quote_times)).values()) == {SAVED_AT}  # none half-way
        [pool] = pool_processes(worker)
        pool.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await poll(
            lambda: all(times and times[-1].startswith(QUOTED_AT.isoformat()[:19])
                        for times in quote_times_seen(listener).values()),
            timeout=30, what="the redone batch's quotes on the socket",
        )  # fmt: skip
        measured["kill_to_new_quotes_on_socket"] = round(time.monotonic() - killed, 2)
        summary = await asyncio.to_thread(AsyncResult(result.id).get, timeout=30)
        await listener.close()
        assert_never_backwards(quote_times_seen(listener))
        return dict(summary)

    summary = asyncio.run(scenario())
    print(f"\npool process killed mid-batch: {measured}")
    assert sorted(summary["changed"]) == SYMBOLS, summary
    assert summary["in_flight"] == [], summary
    assert_whole_batch_saved_once()
    assert "SIGKILL" in worker.output()
    assert measured["kill_to_new_quotes_on_socket"] < 15


def test_an_older_quote_after_a_newer_one_is_neither_saved_nor_pushed(
    child_env: dict[str, str], start_process: StartProcess, slow_yahoo: YahooStandin
) -> None:
    """A lagging source (or a batch redone late) answers older than what is saved: refused."""
    from workers.tasks import fetch_price_batch

    priced_long_ago()
    slow_yahoo.chart_latency = 0
    server = web_server_start(start_process, child_env)
    worker_start(start_process, yahoo_env(child_env, slow_yahoo), command=yahoo_worker_command())

    async def scenario() -> Listener:
        listener = await watching(server.ws_url)
        first = await asyncio.to_thread(fetch_price_batch.delay(SYMBOLS).get, timeout=60)
        assert sorted(first["changed"]) == SYMBOLS
        for symbol in SYMBOLS:
            slow_yahoo.listing(symbol, price=95.0, quote_time=QUOTED_AT - timedelta(seconds=30))
        second = await asyncio.to_thread(fetch_price_batch.delay(SYMBOLS).get, timeout=60)
        assert sorted(second["older"]) == SYMBOLS
        assert second["changed"] == []
        pinged = time.monotonic()
        await listener.client.send("ping")
        await poll(lambda: listener.first_at("pong", pinged), timeout=10, what="a pong")
        await listener.close()
        return listener

    listener = asyncio.run(scenario())
    assert_whole_batch_saved_once()
    seen = quote_times_seen(listener)
    assert_never_backwards(seen)
    assert all(times[-1].startswith(QUOTED_AT.isoformat()[:19]) for times in seen.values()), seen


@pytest.mark.slow
def test_a_worker_killed_outright_mid_batch_has_it_run_after_the_visibility_timeout(
    child_env: dict[str, str], start_process: StartProcess, slow_yahoo: YahooStandin
) -> None:
    """The whole worker SIGKILLed: the message waits in Redis for the visibility timeout (the
    settings derive it from the time limits, shortened here), then the restarted worker runs
    it. Redis' default would keep it an hour."""
    from celery.result import AsyncResult

    from workers.tasks import fetch_price_batch

    priced_long_ago()
    # Shortened: the timeout is the hard limit plus the longest retry wait plus 30 s.
    limits = {"TASK_SOFT_TIME_LIMIT": "8", "TASK_TIME_LIMIT": "10", "TASK_RETRY_COUNTDOWN_MAX": "5"}
    env = yahoo_env(child_env, slow_yahoo, **limits)
    visibility = 10 + 5 + 30
    worker = worker_start(start_process, env, command=yahoo_worker_command())

    # No expiry, as a forced refresh is sent (a tick's batch would have expired by then).
    result = fetch_price_batch.delay(SYMBOLS)
    wait_until(lambda: mid_batch(slow_yahoo), timeout=30, what="the batch to be fetching")
    os.killpg(worker.popen.pid, signal.SIGKILL)  # the worker's whole process group
    killed = time.monotonic()
    worker.popen.wait(timeout=10)
    assert set(saved_quote_times().values()) == {SAVED_AT}

    restarted = worker_start(start_process, env, command=yahoo_worker_command(), name="worker2")
    summary = AsyncResult(result.id).get(timeout=visibility + 60)
    took = time.monotonic() - killed
    print(
        f"\nworker killed outright: batch run again {took:.0f} s later (visibility {visibility} s)"
    )
    assert sorted(summary["changed"]) == SYMBOLS, summary
    assert visibility <= took < visibility + 30
    assert_whole_batch_saved_once()
    assert restarted.alive()
