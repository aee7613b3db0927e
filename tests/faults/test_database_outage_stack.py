"""The database unreachable for 10 s under uvicorn, a Celery worker and beat.

A TCP proxy of the test's own stands between the three processes and PostgreSQL and is cut
(the shared server never stops). While it is cut: tasks that meet the database away retry
with backoff instead of failing, open sockets stay open, /realtime/health/ says the database
is unavailable (503). Once it is back: prices are saved and pushed to the open socket again
and health is 200, within seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from apps.market.models import Asset
from apps.market.schedule import refresh_schedule_apply
from tests.faults.outages import TcpCut
from tests.faults.stack import Listener, Stack, StartProcess, http_json, poll, stack_start

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SYMBOLS = ["DBO0", "DBO1", "DBO2"]
INTERVAL = 2
OUTAGE = 10.0
RETRIED = re.compile(r"Retry in \d+s: OperationalError")


@pytest.fixture
def database_cut(child_env: dict[str, str]) -> Iterator[tuple[TcpCut, str]]:
    """A proxy in front of the test database, and the database URL through it."""
    database = urlsplit(child_env["DATABASE_URL"])
    if database.scheme == "sqlite":
        pytest.skip("a database outage through a proxy needs PostgreSQL")
    proxy = TcpCut(database.hostname or "127.0.0.1", database.port or 5432).start()
    address = database.netloc.split("@")[-1]
    yield proxy, child_env["DATABASE_URL"].replace(address, f"127.0.0.1:{proxy.port}")
    proxy.stop()


async def health(stack: Stack) -> tuple[int, dict[str, Any]]:
    return await asyncio.to_thread(http_json, f"{stack.web.http_url}/realtime/health/")


async def health_until(stack: Stack, status: int, *, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code, body = await health(stack)
        if code == status or time.monotonic() > deadline:
            assert code == status, body
            return body
        await asyncio.sleep(0.25)


def newest_quote(listener: Listener, since: float = 0.0) -> datetime | None:
    times = [
        datetime.fromisoformat(m["data"]["quote_time"])
        for m in listener.of_type("asset_update", since)
        if m["data"]["quote_time"]
    ]
    return max(times, default=None)


def test_a_database_outage_is_retried_reported_and_recovered_from(
    child_env: dict[str, str],
    start_process: StartProcess,
    database_cut: tuple[TcpCut, str],
) -> None:
    proxy, through_proxy = database_cut
    for symbol in SYMBOLS:
        Asset.objects.create(symbol=symbol, name=symbol, always_refresh=True)
    refresh_schedule_apply(every_seconds=INTERVAL)
    stack = stack_start(start_process, {**child_env, "DATABASE_URL": through_proxy})
    measured: dict[str, float] = {}

    async def scenario() -> None:
        listener = await Listener.open(stack.web.ws_url)
        for symbol in SYMBOLS:
            await listener.client.send("subscribe_asset", {"symbol": symbol})
        await poll(lambda: newest_quote(listener), timeout=30, what="ticks on the socket")
        await health_until(stack, 200, timeout=20)

        proxy.cut()
        cut = time.monotonic()
        body = await health_until(stack, 503, timeout=10)
        measured["health_503_after"] = round(time.monotonic() - cut, 2)
        assert body["checks"]["database"] == "database: unavailable", body
        assert body["checks"]["redis"] == "ok"
        await poll(
            lambda: RETRIED.search(stack.worker.output()), timeout=OUTAGE,
            what="a task retrying after the database error",
        )  # fmt: skip
        pinged = time.monotonic()
        await listener.client.send("ping")
        await poll(lambda: listener.first_at("pong", pinged), timeout=5, what="a pong")
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - cut)))  # the outage itself
        before = newest_quote(listener)

        proxy.restore()
        back = time.monotonic()
        await poll(
            lambda: (newest := newest_quote(listener, back)) and before and newest > before,
            timeout=30, what="a newer price pushed after the database is back",
        )  # fmt: skip
        measured["first_new_price_after"] = round(time.monotonic() - back, 2)
        await health_until(stack, 200, timeout=30)
        measured["health_200_after"] = round(time.monotonic() - back, 2)
        assert listener.closed_code is None
        await listener.close()

    asyncio.run(scenario())
    print(f"\ndatabase cut for {OUTAGE:.0f} s: {measured}")
    worker_log = stack.worker.output()
    assert "raised unexpected: OperationalError" not in worker_log
    assert stack.web.process.alive()
    assert stack.worker.alive()
    assert stack.beat is not None
    assert stack.beat.alive()
    assert measured["first_new_price_after"] < 10
    assert measured["health_200_after"] < 10
