"""Real clients at scale and in bad shape: the guide's JS client in Node, a reconnect burst of
1,000 sockets, and a socket that never reads while the others keep their latency."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
import websockets

from apps.market.models import Asset
from apps.streams.frames import frame_encode
from apps.streams.groups import asset_group
from apps.streams.publish import frames_publish_rollback_unsafe
from tests.conftest import LiveServer
from tests.e2e.ws import WsClient

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

GUIDE_CLIENT = Path(__file__).parent / "js" / "guide_client.mjs"


def assets_priced(count: int) -> list[str]:
    symbols = [f"T{index:03d}" for index in range(count)]
    Asset.objects.bulk_create(
        Asset(symbol=s, current_price=Decimal("10"), previous_close=Decimal("9")) for s in symbols
    )
    return symbols


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_guides_javascript_client_runs_as_is_in_node(web_server: LiveServer) -> None:
    assets_priced(1)
    result = subprocess.run(
        ["node", "--experimental-websocket", str(GUIDE_CLIENT), web_server.ws_url, "T000"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout.split("RESULT ", 1)[1])
    assert outcome["connected"] is True
    assert outcome["pong"] is True
    assert outcome["subscribed"] is True
    assert outcome["update"]["symbol"] == "T000"
    assert outcome["update"]["price"] == 10.0


def test_a_reconnect_burst_of_1000_sockets_subscribes_without_redis_pool_errors(
    web_server: LiveServer,
) -> None:
    symbols = assets_priced(100)

    async def one(index: int) -> int:
        # A thousand browsers, not one: each from its own address (uvicorn trusts the
        # loopback's X-Forwarded-For), so the per-address anonymous limit does not apply.
        address = {"X-Forwarded-For": f"10.0.{index // 250}.{index % 250 + 1}"}
        client = await WsClient.open(web_server.ws_url, open_timeout=60, additional_headers=address)
        await client.recv(timeout=60)
        wanted = [symbols[(index + step * 5) % len(symbols)] for step in range(20)]
        for symbol in wanted:
            await client.send("subscribe_asset", {"symbol": symbol})
        acks = 0
        async with asyncio.timeout(90):
            while acks < len(wanted):
                message = await client.recv(timeout=90)
                assert message["type"] != "error", message
                acks += message["type"] == "subscribed"
        return client  # type: ignore[return-value]

    async def burst() -> tuple[list[WsClient], float]:
        started = time.monotonic()
        clients = await asyncio.gather(*(one(index) for index in range(1000)))
        return list(clients), time.monotonic() - started  # type: ignore[arg-type]

    async def scenario() -> float:
        clients, took = await burst()
        assert len(clients) == 1000
        await asyncio.gather(*(client.close() for client in clients))
        return took

    took = asyncio.run(scenario())
    log = web_server.process.output()
    assert "Too many connections" not in log
    assert "MaxConnectionsError" not in log
    assert "Traceback" not in log
    print(f"1,000 sockets connected and made 20,000 subscriptions in {took:.1f}s")


def _process_group_rss_kib(pgid: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ProcessLookupError):
            continue
    return total


def test_a_socket_that_never_reads_does_not_slow_the_others(web_server: LiveServer) -> None:
    symbols = assets_priced(20)
    padding = "x" * 2_000  # large frames fill the stalled socket's buffers quickly

    async def stalled_socket() -> websockets.ClientConnection:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", web_server.port))
        connection = await websockets.connect(web_server.ws_url, sock=raw, max_queue=1)
        for symbol in symbols:
            await connection.send(
                json.dumps({"type": "subscribe_asset", "data": {"symbol": symbol}})
            )
        return connection  # and never reads again

    async def scenario() -> tuple[list[float], int, int]:
        readers = [await WsClient.open(web_server.ws_url) for _ in range(3)]
        for reader in readers:
            await reader.recv()
            for symbol in symbols:
                await reader.send("subscribe_asset", {"symbol": symbol})
            for _ in symbols:
                await reader.recv_type("asset_update")
        stalled = await stalled_socket()
        await asyncio.sleep(0.5)
        rss_before = _process_group_rss_kib(web_server.process.popen.pid)
        latencies: list[float] = []
        for tick in range(60):
            sent = time.time()
            frames = [
                (asset_group(s), frame_encode("asset_update", {"symbol": s, "tick": tick,
                                                               "sent": sent, "pad": padding}))
                for s in symbols
            ]  # fmt: skip
            await asyncio.to_thread(frames_publish_rollback_unsafe, frames)
            for reader in readers:
                got = 0
                while got < len(symbols):
                    message = await reader.recv(timeout=10)
                    if message["type"] == "asset_update" and message["data"].get("tick") == tick:
                        got += 1
                        latencies.append(time.time() - message["data"]["sent"])
        rss_after = _process_group_rss_kib(web_server.process.popen.pid)
        for reader in readers:
            await reader.close()
        stalled.transport.abort()
        return latencies, rss_before, rss_after

    latencies, rss_before, rss_after = asyncio.run(scenario())
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    assert len(latencies) == 60 * 20 * 3
    assert p99 < 0.5, f"p99 {p99 * 1000:.0f} ms with a stalled socket"
    # The stalled socket holds at most one pending frame per subscription, not 1,200 frames.
    assert rss_after - rss_before < 20_000, f"server grew {rss_after - rss_before} KiB"
