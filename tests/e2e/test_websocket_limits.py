"""Limits and the connection registry, across real server processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import websockets

from apps.market.models import Asset
from tests.conftest import LiveServer, RunningProcess, wait_until, web_server_start
from tests.e2e.ws import WsClient, first_event, session_cookie
from tests.factories import asset_create, portfolio_create, position_create, user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

StartProcess = Callable[..., RunningProcess]


def priced(symbol: str) -> Asset:
    asset = asset_create(symbol)
    Asset.objects.filter(pk=asset.pk).update(current_price=Decimal("50"))
    return asset


async def closed_code(client: WsClient, timeout: float = 15) -> int | None:
    """Read until the server closes; the close code it sent."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await client.connection.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_subscription_limit_is_an_error_and_the_socket_stays_open(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    server = web_server_start(start_process, {**child_env, "MAX_SUBSCRIPTIONS_PER_CONNECTION": "2"})
    for symbol in ("AAPL", "MSFT", "KO"):
        priced(symbol)

    async def scenario() -> None:
        client = await WsClient.open(server.ws_url)
        await client.recv()
        for symbol in ("AAPL", "MSFT"):
            await client.send("subscribe_asset", {"symbol": symbol})
            await client.recv_type("asset_update")
        await client.send("subscribe_asset", {"symbol": "AAPL"})  # again: no new slot needed
        assert (await client.recv_type("subscribed"))["data"]["symbol"] == "AAPL"
        await client.send("subscribe_asset", {"symbol": "KO"})
        error = await client.recv_type("error")
        assert error["data"]["code"] == "subscription_limit"
        await client.send("unsubscribe_asset", {"symbol": "MSFT"})
        await client.recv_type("unsubscribed")
        await client.send("subscribe_asset", {"symbol": "KO"})
        assert (await client.recv_type("subscribed"))["data"]["symbol"] == "KO"
        await client.close()

    asyncio.run(scenario())


def test_message_size_limits(web_server: LiveServer) -> None:
    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url, max_size=None)
        await client.recv()
        await client.send("ping", {"padding": "x" * 20_000})
        error = await client.recv()
        assert error["data"]["code"] == "message_too_large"
        await client.send("ping", {})
        assert (await client.recv())["type"] == "pong"
        await client.send("ping", {"padding": "x" * 70_000})  # beyond uvicorn's 64 KiB frame cap
        assert await closed_code(client) == 1009

    asyncio.run(scenario())


def test_rate_limit_errors_then_persistent_abuse_closes_the_socket(web_server: LiveServer) -> None:
    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url)
        await client.recv()
        for _ in range(45):
            await client.send("ping", {})
        replies = [await client.recv() for _ in range(45)]
        codes = [r["data"].get("code") for r in replies if r["type"] == "error"]
        assert codes
        assert set(codes) == {"rate_limited"}
        assert sum(r["type"] == "pong" for r in replies) >= 40
        for _ in range(40):
            await client.send("ping", {})
        assert await closed_code(client) == 4008

    asyncio.run(scenario())


def test_per_user_connection_limit_holds_across_two_server_processes(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    env = {**child_env, "MAX_CONNECTIONS_PER_USER": "2"}
    first = web_server_start(start_process, env, "web-a")
    second = web_server_start(start_process, env, "web-b")
    user = user_create()
    headers = session_cookie(user)

    async def scenario() -> None:
        a = await WsClient.open(first.ws_url, additional_headers=headers)
        b = await WsClient.open(second.ws_url, additional_headers=headers)
        assert (await a.recv())["type"] == (await b.recv())["type"] == "connection"
        third = await WsClient.open(first.ws_url, additional_headers=headers)
        assert await closed_code(third) == 4029
        await a.close()
        retry = await WsClient.open(second.ws_url, additional_headers=headers)

        async def admitted() -> bool:
            return (await retry.recv())["type"] == "connection"

        assert await admitted()
        await b.close()
        await retry.close()

    asyncio.run(scenario())


def test_anonymous_sockets_are_capped_per_client_address_across_two_server_processes(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    env = {**child_env, "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": "2"}
    first = web_server_start(start_process, env, "web-a")
    second = web_server_start(start_process, env, "web-b")
    # The test connects from 127.0.0.1, which uvicorn trusts as a proxy by default: the
    # client address is the one X-Forwarded-For names, as behind nginx.
    one_client = {"X-Forwarded-For": "203.0.113.7"}
    another = {"X-Forwarded-For": "203.0.113.8"}

    async def scenario() -> None:
        a = await WsClient.open(first.ws_url, additional_headers=one_client)
        b = await WsClient.open(second.ws_url, additional_headers=one_client)
        assert (await a.recv())["type"] == (await b.recv())["type"] == "connection"
        assert await first_event(first.ws_url, one_client) == "closed 4029"
        assert await first_event(second.ws_url, another) == "connection"
        await a.close()
        async with asyncio.timeout(10):
            while await first_event(second.ws_url, one_client) != "connection":
                await asyncio.sleep(0.2)
        await b.close()

    asyncio.run(scenario())


def test_a_crashed_servers_connections_stop_counting(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    env = {**child_env, "MAX_CONNECTIONS_PER_USER": "1", "REALTIME_CONNECTION_TTL": "3"}
    doomed = web_server_start(start_process, env, "web-doomed")
    survivor = web_server_start(start_process, env, "web-survivor")
    headers = session_cookie(user_create())

    async def scenario() -> None:
        held = await WsClient.open(doomed.ws_url, additional_headers=headers)
        await held.recv()
        assert await first_event(survivor.ws_url, headers) == "closed 4029"
        os.killpg(doomed.process.popen.pid, signal.SIGKILL)  # no clean-up runs
        async with asyncio.timeout(15):
            while await first_event(survivor.ws_url, headers) != "connection":
                await asyncio.sleep(0.5)

    asyncio.run(scenario())


def test_an_idle_socket_is_closed_after_websocket_timeout(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    server = web_server_start(start_process, {**child_env, "WEBSOCKET_TIMEOUT": "2"})

    async def scenario() -> None:
        idle = await WsClient.open(server.ws_url)
        busy = await WsClient.open(server.ws_url)
        await idle.recv()
        await busy.recv()
        started = asyncio.get_running_loop().time()
        code = None
        while code is None:
            await busy.send("ping", {})  # activity keeps this one open
            await busy.recv()
            try:
                await asyncio.wait_for(idle.connection.recv(), 0.5)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else -1
        assert code == 4000
        assert 1.5 < asyncio.get_running_loop().time() - started < 8
        await busy.send("ping", {})
        assert (await busy.recv())["type"] == "pong"
        await busy.close()

    asyncio.run(scenario())


def status(server: LiveServer, headers: dict[str, str] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(f"{server.http_url}/realtime/status/", headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def test_status_figures_follow_connect_subscribe_and_disconnect(web_server: LiveServer) -> None:
    from config.redis_client import redis_client, redis_key

    user = user_create()
    portfolio = portfolio_create(owner=user)
    position_create(portfolio, priced("AAPL"))
    priced("MSFT")
    headers = session_cookie(user)
    redis_client().delete(redis_key("conns"))  # figures from earlier tests' servers

    def figures() -> dict[str, Any]:
        return status(web_server, headers)

    async def scenario() -> None:
        mine = await WsClient.open(web_server.ws_url, additional_headers=headers)
        anonymous = await WsClient.open(web_server.ws_url)
        await mine.recv()
        await anonymous.recv()
        await mine.send("subscribe_portfolio", {"portfolio_id": portfolio.pk})
        await mine.recv_type("subscribed")
        for client in (mine, anonymous):
            await client.send("subscribe_asset", {"symbol": "AAPL"})
            await client.recv_type("subscribed")
        await anonymous.send("subscribe_asset", {"symbol": "MSFT"})
        await anonymous.recv_type("subscribed")

        expected_global = {
            "total_connections": 2, "authenticated_users": 1,
            "portfolio_subscriptions": 1, "asset_subscriptions": 3,
        }  # fmt: skip
        body = await asyncio.to_thread(
            wait_until, lambda: (f := figures())["global_stats"] == expected_global and f,
            timeout=10, what="the status figures after subscribing",
        )  # fmt: skip
        assert body["service_status"] == "running"
        assert body["user_stats"] == {
            "connection_count": 1,
            "subscriptions": {"portfolios": [portfolio.pk], "assets": ["AAPL"]},
        }
        await anonymous.close()
        await mine.close()
        await asyncio.to_thread(
            wait_until, lambda: figures()["global_stats"]["total_connections"] == 0,
            timeout=10, what="the figures to drop after disconnect",
        )  # fmt: skip

    asyncio.run(scenario())
    assert status(web_server)["user_stats"] is None  # anonymous: no user-specific figures


def test_two_server_processes_both_deliver_a_workers_tick(
    child_env: dict[str, str], start_process: StartProcess, celery_worker_process: RunningProcess
) -> None:
    from workers.tasks import refresh_prices

    asset_create("AAPL")
    first = web_server_start(start_process, child_env, "web-a")
    second = web_server_start(start_process, child_env, "web-b")

    async def scenario() -> None:
        clients = [await WsClient.open(s.ws_url) for s in (first, second)]
        for client in clients:
            await client.recv()
            await client.send("subscribe_asset", {"symbol": "AAPL"})
            await client.recv_type("subscribed")
        await asyncio.to_thread(lambda: refresh_prices.delay(symbols=["AAPL"]))
        updates = [await client.recv_type("asset_update", timeout=30) for client in clients]
        assert updates[0]["data"]["price"] == updates[1]["data"]["price"]
        assert updates[0]["data"]["source"] == "simulated"
        assert updates[0]["timestamp"] == updates[1]["timestamp"]  # one encoding, both servers
        for client in clients:
            await client.close()

    asyncio.run(scenario())


def test_a_stalled_idle_socket_does_not_stop_idle_closes_or_heartbeats(
    child_env: dict[str, str], start_process: StartProcess
) -> None:
    import socket

    from apps.streams.frames import frame_encode
    from apps.streams.groups import asset_group
    from apps.streams.publish import frames_publish_rollback_unsafe

    server = web_server_start(
        start_process, {**child_env, "WEBSOCKET_TIMEOUT": "2", "REALTIME_CONNECTION_TTL": "3"}
    )
    priced("AAPL")

    async def scenario() -> None:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        stalled = await websockets.connect(server.ws_url, sock=raw, max_queue=1)
        await stalled.send(json.dumps({"type": "subscribe_asset", "data": {"symbol": "AAPL"}}))
        await asyncio.sleep(0.3)
        padding = "x" * 16_000
        # 8 MB: more than the kernel's send and receive buffers hold, so its writes stay
        # pending and its close frame can never be sent.
        frames = [
            (asset_group("AAPL"), frame_encode("asset_update", {"tick": tick, "pad": padding}))
            for tick in range(500)
        ]
        await asyncio.to_thread(frames_publish_rollback_unsafe, frames)
        idle_readers = [await WsClient.open(server.ws_url) for _ in range(3)]
        for reader in idle_readers:
            await reader.recv()
        codes = await asyncio.gather(*(closed_code(r, timeout=20) for r in idle_readers))
        assert codes == [4000, 4000, 4000]
        stalled.transport.abort()

    asyncio.run(scenario())
