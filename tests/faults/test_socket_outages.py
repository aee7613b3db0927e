"""The socket server through outages of its Redis and its database, all processes real.

Each outage is of a service the test owns (tests/faults/outages.py): a redis-server started
here and stopped, or a TCP proxy in front of the shared service, cut. The machine's shared
Redis and PostgreSQL never stop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from apps.market.models import Asset
from apps.streams.frames import frame_encode
from apps.streams.groups import asset_group
from apps.streams.publish import frames_publish_rollback_unsafe
from tests.conftest import LiveServer, RunningProcess, wait_until, web_server_start
from tests.e2e.ws import WsClient, first_event
from tests.factories import asset_create
from tests.faults.outages import OwnRedis, TcpCut

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

StartProcess = Callable[..., RunningProcess]
LOST = "channel layer link lost"
BACK = re.compile(r"channel layer link back after (\d+\.\d) s")


def priced(symbol: str, price: str) -> Asset:
    asset = asset_create(symbol)
    Asset.objects.filter(pk=asset.pk).update(
        current_price=Decimal(price), previous_close=Decimal(price) - 1, source="simulated"
    )
    return asset


@pytest.fixture
def redis_cut() -> Iterator[TcpCut]:
    """A proxy in front of the shared Redis (the pipeline side keeps its own link)."""
    from django.conf import settings

    target = urlsplit(settings.REDIS_URL)
    proxy = TcpCut(target.hostname or "127.0.0.1", target.port or 6379).start()
    yield proxy
    proxy.stop()


async def subscribed_with_snapshot(client: WsClient, symbol: str) -> dict[str, Any]:
    """Subscribe, retrying while the server says `unavailable`; the snapshot that follows."""
    async with asyncio.timeout(20):
        while True:
            await client.send("subscribe_asset", {"symbol": symbol})
            reply = await client.recv()
            if reply["type"] == "subscribed":
                return await client.recv_type("asset_update")
            assert reply["type"] == "error", reply
            assert reply["data"]["code"] == "unavailable", reply
            await asyncio.sleep(0.5)  # the documented client behaviour: retry a little later


async def still_open(client: WsClient) -> bool:
    await client.send("ping")
    return (await client.recv_type("pong"))["type"] == "pong"


def log_has(server: LiveServer, text: str) -> bool:
    return text in server.process.output()


def test_a_subscribe_while_redis_is_down_is_unavailable_and_the_socket_stays_open(
    child_env: dict[str, str], start_process: StartProcess, own_redis: OwnRedis
) -> None:
    priced("AAPL", "101")
    priced("MSFT", "202")
    server = web_server_start(start_process, {**child_env, "REDIS_URL": own_redis.url})

    async def scenario() -> None:
        client = await WsClient.open(server.ws_url)
        await client.recv()
        assert (await subscribed_with_snapshot(client, "AAPL"))["data"]["price"] == 101.0
        own_redis.stop()
        await client.send("subscribe_asset", {"symbol": "MSFT"})
        error = await client.recv_type("error")
        assert error["data"]["code"] == "unavailable"
        assert error["data"]["request_type"] == "subscribe_asset"
        assert await still_open(client)
        # A socket that cannot be counted (per-address limit) is told to come back later.
        assert await first_event(server.ws_url) == "closed 1013"
        own_redis.start()
        assert (await subscribed_with_snapshot(client, "MSFT"))["data"]["price"] == 202.0
        assert await first_event(server.ws_url) == "connection"
        await client.close()

    asyncio.run(scenario())
    assert "Traceback" not in server.process.output()


def test_a_subscribe_while_the_database_is_down_is_unavailable_and_the_socket_stays_open(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    database = urlsplit(child_env["DATABASE_URL"])
    if database.scheme == "sqlite":
        pytest.skip("a database outage through a proxy needs PostgreSQL")
    priced("AAPL", "101")
    proxy = TcpCut(database.hostname or "127.0.0.1", database.port or 5432).start()
    through_proxy = child_env["DATABASE_URL"].replace(database.netloc.split("@")[-1],
                                                      f"127.0.0.1:{proxy.port}")  # fmt: skip
    server = web_server_start(start_process, {**child_env, "DATABASE_URL": through_proxy})

    async def scenario() -> None:
        client = await WsClient.open(server.ws_url)
        await client.recv()
        proxy.cut()
        await client.send("subscribe_asset", {"symbol": "AAPL"})
        error = await client.recv_type("error")
        assert error["data"]["code"] == "unavailable"
        assert error["data"]["request_type"] == "subscribe_asset"
        assert await still_open(client)
        proxy.restore()
        assert (await subscribed_with_snapshot(client, "AAPL"))["data"]["price"] == 101.0
        await client.close()

    try:
        asyncio.run(scenario())
    finally:
        proxy.stop()
    assert "Traceback" not in server.process.output()


def test_a_redis_restart_logs_one_line_when_lost_and_one_when_back(
    child_env: dict[str, str], start_process: StartProcess, own_redis: OwnRedis
) -> None:
    priced("AAPL", "101")
    server = web_server_start(start_process, {**child_env, "REDIS_URL": own_redis.url})

    async def scenario() -> None:
        client = await WsClient.open(server.ws_url)
        await client.recv()
        await subscribed_with_snapshot(client, "AAPL")
        own_redis.stop()
        await asyncio.to_thread(
            wait_until, lambda: log_has(server, LOST), timeout=10, what="the lost line"
        )
        await asyncio.sleep(4)  # the outage itself: four seconds, as in the issue
        own_redis.start()
        await asyncio.to_thread(
            wait_until, lambda: BACK.search(server.process.output()), timeout=15,
            what="the back line",
        )  # fmt: skip
        assert await still_open(client)
        await client.close()

    asyncio.run(scenario())
    log = server.process.output()
    assert log.count("Traceback") == 0, log
    assert log.count(LOST) == 1, log
    back = BACK.findall(log)
    assert len(back) == 1, log
    assert 4.0 <= float(back[0]) < 15.0


def test_what_was_published_while_the_link_was_cut_arrives_when_it_is_back(
    child_env: dict[str, str], start_process: StartProcess, redis_cut: TcpCut
) -> None:
    priced("AAPL", "101")
    server = web_server_start(
        start_process, {**child_env, "REDIS_URL": f"redis://127.0.0.1:{redis_cut.port}/0"}
    )
    missed = {"symbol": "AAPL", "price": 333.25, "change": 1, "change_percent": 0.3,
              "volume": 1, "high": 333.25, "low": 333.25}  # fmt: skip

    async def scenario() -> None:
        client = await WsClient.open(server.ws_url)
        await client.recv()
        assert (await subscribed_with_snapshot(client, "AAPL"))["data"]["price"] == 101.0
        redis_cut.cut()
        await asyncio.to_thread(
            wait_until, lambda: log_has(server, LOST), timeout=10, what="the lost line"
        )
        # The pipeline still reaches Redis: it stores the snapshot and publishes, unheard.
        await asyncio.to_thread(
            frames_publish_rollback_unsafe,
            [(asset_group("AAPL"), frame_encode("asset_update", missed))],
        )
        redis_cut.restore()
        update = await client.recv_type("asset_update", timeout=5)
        assert update["data"]["price"] == 333.25
        await client.close()

    asyncio.run(scenario())
