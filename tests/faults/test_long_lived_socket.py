"""A socket open for 25 hours still receives: the real server on a clock 1,000x fast.

libfaketime (Debian's `faketime` package) speeds up every clock the uvicorn process reads,
and its sleeps and polls with them, so a day of the server's timers (idle sweeps, registry
heartbeats, watch renewals, access-cache expiry) runs in about 90 s. The client and the
publisher stay on real time: the client pings every 0.05 s (50 server seconds, well inside
WEBSOCKET_TIMEOUT), as a browser tab pings on its own schedule.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import websockets

from apps.streams.frames import frame_encode
from apps.streams.groups import asset_group
from apps.streams.publish import frames_publish_rollback_unsafe
from tests.conftest import RunningProcess, free_port, procfile_command, wait_until
from tests.factories import asset_create

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))), None)
SPEED = 1000
OPEN_FOR = timedelta(hours=25)


def server_time(message: dict[str, str]) -> datetime:
    """When the server built this message, by its own (fast) clock."""
    return datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def publish_aapl(price: float) -> None:
    data = {"symbol": "AAPL", "price": price, "change": 0, "change_percent": 0,
            "volume": 1, "high": price, "low": price}  # fmt: skip
    frames_publish_rollback_unsafe([(asset_group("AAPL"), frame_encode("asset_update", data))])


def test_a_socket_open_for_25_hours_still_receives(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    if LIBFAKETIME is None:
        pytest.fail("libfaketime is not installed: `apt-get install faketime` (as .ci/run does)")
    asset_create("AAPL")
    port = free_port()
    # Bounds on real latency (a protocol pong, a Redis round trip, the hub's link probe) would
    # shrink to milliseconds of real time at 1,000x: they are scaled to keep their real length.
    command = procfile_command("web").replace(
        "--ws-ping-timeout 20", f"--ws-ping-timeout {20 * SPEED}"
    )
    server = start_process("web-fast-clock", command, {
        **child_env, "PORT": str(port), "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"+0 x{SPEED}", "FAKETIME_NO_CACHE": "1",
        "REALTIME_BACKEND_TIMEOUT": str(10 * SPEED),
        "REALTIME_LINK_PROBE_SECONDS": str(SPEED),
    })  # fmt: skip

    async def scenario() -> tuple[datetime, datetime, int]:
        await asyncio.to_thread(
            wait_until, lambda: answers(port), timeout=30, what="uvicorn on a fast clock"
        )
        client = await websockets.connect(f"ws://127.0.0.1:{port}/ws/realtime/")
        opened = server_time(json.loads(await client.recv()))
        latest = [opened]  # the server's time in its latest pong
        prices: asyncio.Queue[float] = asyncio.Queue()

        async def read() -> None:
            async for text in client:
                message = json.loads(text)
                if message["type"] == "pong":
                    latest[0] = server_time(message)
                elif message["type"] == "asset_update":
                    prices.put_nowait(message["data"]["price"])

        async def ping() -> None:
            while True:
                await client.send(json.dumps({"type": "ping"}))
                await asyncio.sleep(0.05)

        reader, pinger = asyncio.create_task(read()), asyncio.create_task(ping())
        await client.send(json.dumps({"type": "subscribe_asset", "data": {"symbol": "AAPL"}}))
        ticks, price = 0, 100.0
        deadline = time.monotonic() + OPEN_FOR.total_seconds() / SPEED + 30
        while latest[0] - opened < OPEN_FOR:
            assert time.monotonic() < deadline, "the server's clock did not run 1,000x"
            price += 1
            await asyncio.to_thread(publish_aapl, price)
            async with asyncio.timeout(10):
                while await prices.get() != price:
                    pass
            ticks += 1
            await asyncio.sleep(0.2)
        pinger.cancel()
        await client.close()
        await asyncio.gather(reader, pinger, return_exceptions=True)
        return opened, latest[0], ticks

    opened, still_receiving, ticks = asyncio.run(scenario())

    assert still_receiving - opened >= OPEN_FOR
    assert ticks > 100  # every tick of the day arrived, the last one after 25 server hours
    assert server.alive()
