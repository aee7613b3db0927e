"""Redis SIGKILLed and restarted under the whole stack while 100 sockets watch live ticks.

uvicorn, a Celery worker and beat (the Procfile's lines) all use a redis-server of the
test's own. Killing it loses everything Redis held: the broker's queues, the snapshots, the
connection registry and the watch set. Each process must reconnect by itself, the open
sockets must receive again within seconds of Redis returning, and /realtime/status/ must
count the 100 connections again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from apps.market.models import Asset
from apps.market.schedule import refresh_schedule_apply
from tests.conftest import LiveServer, web_server_start
from tests.faults.outages import OwnRedis
from tests.faults.stack import (
    Listener,
    StartProcess,
    poll,
    stack_start,
    status_global,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOCKETS = 100
SYMBOLS = [f"RST{index}" for index in range(10)]
# Redis back to every open socket receiving again, and to the status figures being right.
DELIVERY_WITHIN = 5.0
STATUS_WITHIN = 10.0


def watched_only_assets() -> None:
    """Held by nobody, not always refreshed: only the watch set makes them due."""
    for symbol in SYMBOLS:
        Asset.objects.create(symbol=symbol, name=symbol)


async def subscribed_listeners(url: str) -> list[Listener]:
    listeners = [await Listener.open(url) for _ in range(SOCKETS)]
    for index, listener in enumerate(listeners):
        await listener.client.send("subscribe_asset", {"symbol": SYMBOLS[index % len(SYMBOLS)]})
    await poll(
        lambda: all(listener.of_type("subscribed") for listener in listeners),
        timeout=30, what="every socket's subscribe ack",
    )  # fmt: skip
    return listeners


async def poll_status(
    server: LiveServer, ok: Callable[[dict[str, Any] | None], bool], *, timeout: float
) -> bool:
    """Poll /realtime/status/ until its global figures pass `ok`."""
    deadline = time.monotonic() + timeout
    figures = None
    while time.monotonic() < deadline:
        figures = await asyncio.to_thread(status_global, server)
        if ok(figures):
            return True
        await asyncio.sleep(0.25)
    raise AssertionError(f"status figures not right within {timeout:.0f}s: {figures}")


def test_a_redis_restart_under_the_whole_stack_heals_delivery_and_the_status_figures(
    child_env: dict[str, str], start_process: StartProcess, own_redis: OwnRedis
) -> None:
    watched_only_assets()
    refresh_schedule_apply(every_seconds=1)
    env = {
        **child_env,
        "REDIS_URL": own_redis.url,
        "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": str(SOCKETS * 2),
        "STATUS_ANON_RATE": "10000/min",
    }
    stack = stack_start(start_process, env)
    measured: dict[str, float] = {}

    def counted(figures: dict[str, Any] | None) -> bool:
        return figures is not None and (
            (figures["total_connections"], figures["asset_subscriptions"]) == (SOCKETS, SOCKETS)
        )

    async def scenario() -> None:
        listeners = await subscribed_listeners(stack.web.ws_url)
        flowing = time.monotonic()
        await poll(
            lambda: all(listener.first_at("asset_update", flowing) for listener in listeners),
            timeout=30, what="a tick on every socket before the restart",
        )  # fmt: skip
        await poll_status(stack.web, counted, timeout=30)

        own_redis.kill()
        own_redis.start()
        back = time.monotonic()

        await poll(
            lambda: all(listener.first_at("asset_update", back) for listener in listeners),
            timeout=60, what="a tick on every open socket after the restart",
        )  # fmt: skip
        firsts = [listener.first_at("asset_update", back) or 0.0 for listener in listeners]
        measured["first_tick_any"] = round(min(firsts) - back, 2)
        measured["first_tick_all"] = round(max(firsts) - back, 2)
        await poll_status(stack.web, counted, timeout=60)
        measured["status_right"] = round(time.monotonic() - back, 2)

        assert [listener.closed_code for listener in listeners] == [None] * SOCKETS
        pinged = time.monotonic()
        for listener in listeners:
            await listener.client.send("ping")
        await poll(
            lambda: all(listener.first_at("pong", pinged) for listener in listeners),
            timeout=20, what="every socket to answer a ping",
        )  # fmt: skip
        for listener in listeners:
            await listener.close()

    asyncio.run(scenario())
    print(f"\nredis restart recovery (s after Redis answered again): {measured}")
    assert measured["first_tick_all"] <= DELIVERY_WITHIN, measured
    assert measured["status_right"] <= STATUS_WITHIN, measured
    assert stack.web.process.alive()
    assert stack.worker.alive()
    assert stack.beat is not None
    assert stack.beat.alive()
    assert "Traceback" not in stack.web.process.output()


def test_sockets_open_through_a_redis_restart_are_served_at_their_first_message_after_it(
    child_env: dict[str, str], start_process: StartProcess, own_redis: OwnRedis
) -> None:
    """Every pooled Redis connection of the server dies with Redis: none may cost a client
    an `unavailable` once Redis answers again."""
    before, after = SYMBOLS[:5], SYMBOLS[5:]
    for symbol in SYMBOLS:
        Asset.objects.create(
            symbol=symbol, name=symbol, current_price=Decimal("10"), source="simulated"
        )
    env = {**child_env, "REDIS_URL": own_redis.url, "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": "100"}
    server = web_server_start(start_process, env)

    async def subscribe_all(listeners: list[Listener], symbols: list[str]) -> list[str]:
        """Everyone at once (the pool grows to serve them): each reply's type or error code."""
        since = time.monotonic()
        for index, listener in enumerate(listeners):
            await listener.client.send("subscribe_asset", {"symbol": symbols[index % 5]})
        replies: list[str] = []

        def answered() -> bool:
            replies[:] = [
                m["type"] if m["type"] != "error" else m["data"]["code"]
                for listener in listeners
                for m in listener.of_type("subscribed", since) + listener.of_type("error", since)
            ]
            return len(replies) == len(listeners)

        await poll(answered, timeout=20, what="an answer to every subscribe")
        return replies

    async def scenario() -> list[str]:
        listeners = [await Listener.open(server.ws_url) for _ in range(40)]
        assert set(await subscribe_all(listeners, before)) == {"subscribed"}
        own_redis.kill()
        own_redis.start()
        replies = await subscribe_all(listeners, after)
        for listener in listeners:
            await listener.close()
        return replies

    replies = asyncio.run(scenario())
    assert replies.count("unavailable") == 0, replies
