"""What an idle subscribed socket costs the server, in Python allocations (tracemalloc).

The per-socket memory is what limits how many sockets one process holds (issue 17). The
Procfile's uvicorn runs here under tracemalloc; after a warm-up it is told (SIGUSR1) to
keep a baseline, sixty sockets connect and subscribe to 20 symbols each, and a
second SIGUSR1 writes what they added, by layer: the innermost frame outside the standard
library says whose code asked for the bytes (an asyncio queue that uvicorn creates counts as
uvicorn's). Seen here (2026-12, machine busy): 24.7-28 KiB a socket, 3.3 KiB of it
apps/realtime (the hub's share of its membership sets, the subscriptions, the scope, the
outlet); before issue 17, 35.9 KiB and 7.5 KiB. Tracing restarts at the baseline, so what
existed before and is replaced meanwhile counts whole, the old not subtracted (a hub set
resized), so the figures are a little high.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shlex
import signal
import sys
import sysconfig
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import websockets

from tests.conftest import (
    ROOT,
    LiveServer,
    RunningProcess,
    free_port,
    procfile_command,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOCKETS = 60
SYMBOLS = [f"M{index:02d}" for index in range(40)]
PER_SOCKET = 20
# Bounds with room for noise (allocator, caches): a change that doubles either fails.
TOTAL_BOUND_KIB = 36.0
OURS_BOUND_KIB = 6.0

SOCKET_LAYER = "ours: the socket server"  # apps/realtime, what the bound below is about
TRACE_ENV = "SOCKET_MEMORY_TRACE_OUT"
FRAMES = 16  # deep enough to reach, from any allocation, the code that asked for it

# Innermost frame outside the standard library -> layer.
_LAYERS = {
    "uvicorn": "uvicorn + websockets",
    "websockets": "uvicorn + websockets",
    "channels": "channels consumer + middleware",
    "django": "channels consumer + middleware",
    "asgiref": "channels consumer + middleware",
    "rest_framework": "channels consumer + middleware",
    "channels_redis": "channel layer + redis",
    "redis": "channel layer + redis",
}
_STDLIB = sysconfig.get_paths()["stdlib"]
# Callbacks the event loop runs with no Python caller of ours or a library's: the frames of
# the loop itself (base_events, events) are where the search stops.
_LOOP_FILES = ("asyncio/base_events.py", "asyncio/events.py", "asyncio/runners.py")


def allocation_owner(traceback: tracemalloc.Traceback) -> tuple[str, str]:
    """(layer, file:line) of the innermost frame outside the standard library."""
    innermost = traceback[-1]
    for frame in reversed(traceback):  # innermost first
        name = frame.filename
        if "site-packages/" in name:
            short = name.split("site-packages/", 1)[1]
            package = short.split("/", 1)[0]
            return _LAYERS.get(package, package), f"{short}:{frame.lineno}"
        if name.startswith(str(ROOT)):
            short = name.removeprefix(str(ROOT) + "/")
            layer = SOCKET_LAYER if short.startswith("apps/realtime/") else "ours: elsewhere"
            return layer, f"{short}:{frame.lineno}"
        if name.endswith(_LOOP_FILES):
            break
    place = innermost.filename.removeprefix(_STDLIB + "/")
    return "asyncio (event loop)", f"{place}:{innermost.lineno}"


def growth_by_owner(snapshot: tracemalloc.Snapshot) -> dict[str, Any]:
    """Bytes still held of those allocated since tracing (re)started, by layer and by the top
    lines of each layer."""
    layers: dict[str, int] = {}
    lines: dict[tuple[str, str], int] = {}
    for stat in snapshot.statistics("traceback"):
        layer, line = allocation_owner(stat.traceback)
        layers[layer] = layers.get(layer, 0) + stat.size
        lines[layer, line] = lines.get((layer, line), 0) + stat.size
    top = sorted(lines.items(), key=lambda item: -item[1])
    return {
        "total": sum(layers.values()),
        "layers": layers,
        "lines": [[layer, line, size] for (layer, line), size in top[:500]],
    }


def traced_uvicorn() -> None:
    """uvicorn (argv as for `uvicorn`) with tracemalloc: the first SIGUSR1 (re)starts tracing,
    each later one writes what is held of what was allocated since, to $SOCKET_MEMORY_TRACE_OUT.

    Restarting rather than diffing two snapshots: a diff of the whole process (Django, its
    imports) with deep tracebacks takes minutes; this sees only the new allocations.
    """
    import uvicorn

    started: list[bool] = []
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]

    def take(signum: int, frame: FrameType | None) -> None:
        gc.collect()  # cycles a closed handshake left are not a socket's cost
        if not started:
            started.append(True)
            tracemalloc.start(FRAMES)
            report: dict[str, Any] = {"started": True}
        else:
            report = growth_by_owner(tracemalloc.take_snapshot().filter_traces(ignore))
        out = Path(os.environ[TRACE_ENV])
        part = out.with_suffix(".part")
        part.write_text(json.dumps(report))
        part.replace(out)

    signal.signal(signal.SIGUSR1, take)
    sys.argv = ["uvicorn", *sys.argv[1:]]
    uvicorn.main()


def traced_web_command() -> str:
    """The Procfile's web line, with uvicorn run by `traced_uvicorn` in this module."""
    words = procfile_command("web").split(" ", 1)
    assert words[0] == "uvicorn", words
    code = f"from {__name__} import traced_uvicorn; traced_uvicorn()"
    # exec: the shell becomes the server, so the signals reach it.
    return f"exec {shlex.quote(sys.executable)} -c {shlex.quote(code)} {words[1]}"


def trace_read(server: LiveServer, out: Path) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    os.kill(server.process.popen.pid, signal.SIGUSR1)
    wait_until(out.exists, timeout=120, what="the server to write its allocation report")
    return dict(json.loads(out.read_text()))


async def sockets_open(
    url: str, count: int, symbols_of: Callable[[int], list[str]] = lambda index: SYMBOLS
) -> list[Any]:
    """`count` sockets, socket i subscribed to `symbols_of(i)` (every ack received), opened 20
    at a time."""

    async def one(symbols: list[str]) -> Any:
        connection = await websockets.connect(url, max_size=2**20)
        for symbol in symbols:
            message = {"type": "subscribe_asset", "data": {"symbol": symbol}}
            await connection.send(json.dumps(message))
        acks = 0
        async with asyncio.timeout(60):
            while acks < len(symbols):
                reply = json.loads(await connection.recv())
                assert reply["type"] != "error", reply
                acks += reply["type"] == "subscribed"
        return connection

    opened: list[Any] = []
    for start in range(0, count, 20):
        batch = range(start, min(start + 20, count))
        opened += await asyncio.gather(*(one(symbols_of(index)) for index in batch))
    return opened


def socket_symbols(index: int) -> list[str]:
    start = index * PER_SOCKET // 2
    return [SYMBOLS[(start + k) % len(SYMBOLS)] for k in range(PER_SOCKET)]


def idle_socket_growth(
    child_env: dict[str, str],
    start_process: Callable[..., RunningProcess],
    out: Path,
    count: int = SOCKETS,
) -> dict[str, Any]:
    """The allocation report for `count` idle sockets subscribed to 20 symbols each."""
    from tests.factories import asset_create  # models: not in the server, which imports this

    for symbol in SYMBOLS:
        asset_create(symbol)
    port = free_port()
    env = {
        **child_env,
        "PORT": str(port),
        TRACE_ENV: str(out),
        "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": "100000",
        "WEBSOCKET_TIMEOUT": "3600",
        # No heartbeat during the measure (one at start, the next in 20 min): a registry write
        # in flight holds a copy of every socket's state, which is not what an idle one costs.
        "REALTIME_CONNECTION_TTL": "3600",
    }
    process = start_process("web-traced", traced_web_command(), env)
    server = LiveServer(process, port)
    wait_until(lambda: _listens(port) or not process.alive(), timeout=60, what=f"uvicorn on {port}")
    assert process.alive(), process.output()[-3000:]

    async def scenario() -> dict[str, Any]:
        # Sockets that stay open through the measure: the process joins every group and
        # loads every code path before the baseline, so only the sockets' own cost is counted.
        anchors = await sockets_open(server.ws_url, 2)
        # Every code path a socket takes, run before the baseline (the frames' "now" wire
        # times are not cached, so no cache fills up during the measure).
        warm = await sockets_open(server.ws_url, 20, socket_symbols)
        for connection in warm:
            await connection.close()
        await asyncio.sleep(1)  # the book's writes of the warm-up (250 ms) are out
        await asyncio.to_thread(trace_read, server, out)
        measured = await sockets_open(server.ws_url, count, socket_symbols)
        await asyncio.sleep(1)
        report = await asyncio.to_thread(trace_read, server, out)
        for connection in anchors + measured:
            await connection.close()
        return report

    return asyncio.run(scenario())


def _listens(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def kib_per_socket(size: int, count: int = SOCKETS) -> float:
    return size / 1024 / count


def test_an_idle_subscribed_socket_costs_the_server_few_python_allocations(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess], tmp_path: Path
) -> None:
    report = idle_socket_growth(child_env, start_process, tmp_path / "trace.json")
    total = kib_per_socket(report["total"])
    layers = {layer: kib_per_socket(size) for layer, size in report["layers"].items()}
    print(f"\n{SOCKETS} idle sockets x {PER_SOCKET} symbols: {total:.1f} KiB each")
    for layer, kib in sorted(layers.items(), key=lambda item: -item[1]):
        print(f"  {kib:6.2f} KiB  {layer}")
    for layer, line, size in report["lines"][:25]:
        print(f"  {kib_per_socket(size):6.2f}  {layer:32} {line}")
    assert total < TOTAL_BOUND_KIB
    assert layers.get(SOCKET_LAYER, 0.0) < OURS_BOUND_KIB
