"""A source outage with a real worker: failover to the next source, stale flags, no pile-up,
and a batch that never outlives its task's time limit."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult

from apps.market.models import Asset
from apps.market.providers.breaker import CircuitBreaker
from apps.streams.groups import asset_group
from tests.conftest import RunningProcess, child_database_url, procfile_command, wait_until
from tests.e2e.test_pipeline_worker import receive_updates
from tests.standins.http_standin import HttpStandin, json_reply

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coingecko_down() -> HttpStandin:
    standin = HttpStandin()
    standin.routes["/"] = lambda request: json_reply({"error": "maintenance"}, status=503)
    CircuitBreaker().reset("coingecko")
    return standin


StartWorker = Callable[[str], RunningProcess]


@pytest.fixture
def worker_with_sources(
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
    coingecko_down: HttpStandin,
) -> Iterator[StartWorker]:
    """Start a real worker with the given PRICE_SOURCES; CoinGecko's stand-in answers 503."""
    from config.celery import app

    def start(sources: str) -> RunningProcess:
        env = {
            **child_env,
            "CELERY_CONCURRENCY": "1",
            "PRICE_SOURCES": sources,
            "COINGECKO_BASE_URL": coingecko_down.base_url,
        }
        worker = start_process("worker", procfile_command("worker"), env)
        wait_until(lambda: app.control.ping(timeout=0.5), timeout=40, what="the worker")
        return worker

    with coingecko_down:
        yield start
    CircuitBreaker().reset("coingecko")


def test_failover_to_the_next_source_keeps_each_quotes_source(
    worker_with_sources: StartWorker,
) -> None:
    from workers.tasks import fetch_price_batch

    Asset.objects.create(symbol="BTC-USD", asset_type="crypto")
    worker_with_sources("coingecko,simulated")
    summary = fetch_price_batch.delay(["BTC-USD"]).get(timeout=30)
    assert summary["changed"] == ["BTC-USD"]
    assert summary["sources"] == {"simulated": 1}
    assert Asset.objects.get(symbol="BTC-USD").source == "simulated"


def test_a_source_down_past_the_stale_limit_flags_and_pushes_stale(
    worker_with_sources: StartWorker,
) -> None:
    from workers.tasks import fetch_price_batch

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    Asset.objects.create(
        symbol="ETH-USD", asset_type="crypto", current_price=Decimal("2500"),
        previous_close=Decimal("2450"), source="coingecko", quote_time=long_ago,
        last_updated=long_ago,
    )  # fmt: skip
    worker_with_sources("coingecko")

    frames = asyncio.run(
        receive_updates(
            [asset_group("ETH-USD")],
            lambda: fetch_price_batch.delay(["ETH-USD"]),
            lambda frames: bool(frames),
        )
    )
    data = frames[0]["data"]
    assert data["stale"] is True
    assert data["price"] == 2500.0
    assert "coingecko" in data["stale_reason"]
    asset = Asset.objects.get(symbol="ETH-USD")
    assert asset.current_price == Decimal("2500")
    assert asset.stale_reason.startswith("no fresh quote")


def test_ticks_queued_while_no_worker_runs_expire_instead_of_piling_up(
    worker_with_sources: StartWorker,
) -> None:
    from workers.tasks import fetch_price_batch

    Asset.objects.create(symbol="AAPL")
    queued = [fetch_price_batch.apply_async((["AAPL"],), expires=1) for _ in range(5)]
    time.sleep(1.5)  # the outage: longer than the ticks' expiry
    worker_with_sources("simulated")
    for result in queued:
        with pytest.raises(TaskRevokedError):
            AsyncResult(result.id).get(timeout=20)
    assert Asset.objects.get(symbol="AAPL").current_price is None
    assert json.dumps(fetch_price_batch.delay(["AAPL"]).get(timeout=30)["changed"]) == '["AAPL"]'


@pytest.fixture
def coingecko_hanging() -> Iterator[HttpStandin]:
    with HttpStandin() as standin:
        standin.routes["/"] = standin.hang(60)
        CircuitBreaker().reset("coingecko")
        yield standin
    CircuitBreaker().reset("coingecko")


def test_a_source_slower_than_the_tasks_time_limit_never_costs_the_batch(
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
    coingecko_hanging: HttpStandin,
) -> None:
    from config.celery import app
    from workers.tasks import fetch_price_batch

    Asset.objects.create(symbol="BTC-USD", asset_type="crypto")
    Asset.objects.create(symbol="AAPL")
    env = {
        **child_env,
        "CELERY_CONCURRENCY": "1",
        "PRICE_SOURCES": "coingecko,simulated",
        "COINGECKO_BASE_URL": coingecko_hanging.base_url,
    }
    start_process("worker", procfile_command("worker"), env)
    wait_until(lambda: app.control.ping(timeout=0.5), timeout=40, what="the worker")
    started = time.monotonic()

    # A 4 s budget: CoinGecko's request may take 10 s, so it is not sent; the next source prices.
    summary = fetch_price_batch.apply_async(
        (["BTC-USD", "AAPL"],), soft_time_limit=4, time_limit=8
    ).get(timeout=30)

    assert time.monotonic() - started < 4
    assert sorted(summary["changed"]) == ["AAPL", "BTC-USD"]
    assert summary["sources"] == {"simulated": 2}
    assert coingecko_hanging.requests == []
    assert Asset.objects.get(symbol="BTC-USD").source == "simulated"


def test_a_batch_that_overruns_its_time_limit_is_retried_not_lost(
    worker_with_sources: StartWorker,
) -> None:
    from workers.tasks import fetch_price_batch

    Asset.objects.create(symbol="AAPL")
    worker = worker_with_sources("simulated")
    table = Asset._meta.db_table
    with psycopg.connect(child_database_url()) as blocker, blocker.transaction():
        # Another transaction holds AAPL's row: the save waits past the soft time limit.
        blocker.execute(f"SELECT 1 FROM {table} WHERE symbol = %s FOR UPDATE", ["AAPL"])  # noqa: S608
        result = fetch_price_batch.apply_async((["AAPL"],), soft_time_limit=2, time_limit=20)
        wait_until(
            lambda: "Soft time limit (2s) exceeded" in worker.output(),
            timeout=20, what="the batch to overrun its soft time limit",
        )  # fmt: skip
        assert Asset.objects.get(symbol="AAPL").current_price is None

    summary = result.get(timeout=30)  # the retry, once the row is free

    assert summary["changed"] == ["AAPL"]
    assert Asset.objects.get(symbol="AAPL").current_price is not None
