"""Tick to screen: from a quote's save to its arrival on 1,000 sockets and on one page (issue 17).

    .venv/bin/python -m bench.tick_to_screen [--sockets 1000] [--ticks 30] [--quick]

Runs the real parts, started as the Procfile starts them: celery beat (django-celery-beat, the
project's "Refresh prices" row set to every second), one Celery worker, one uvicorn server,
the simulated price source, N symbols, the sockets in client processes of their own (each
watching 20 symbols), and one signed-in dashboard in headless Chromium. A trigger in the
bench's own database logs every saved quote; after the run each frame is matched to its save
by (symbol, quote_time), and latency is its receive time minus the save's `last_updated`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.environment import DEFAULT_REDIS_URL, DEFAULT_SERVER, django_boot
from bench.fanout.common import PYTHON, WS_PATH
from bench.fanout.procs import Child, free_port, machine_busy_seconds
from bench.results import ROOT, results_write
from bench.tick_to_screen_browser import dashboard_open
from bench.tick_to_screen_data import Save, micros, saves_count, saves_read


@dataclass(frozen=True)
class Options:
    sockets: int
    ticks: int
    symbols: int
    per_socket: int
    batch_size: int
    client_processes: int
    browser_symbols: int
    pace: float
    quick: bool
    keep: bool
    database_url: str
    redis_prefix: str


@dataclass
class Measured:
    connected: dict[str, Any]
    saves: list[Save]
    latency: list[dict[str, Any]]
    stats: list[dict[str, Any]]
    browser: dict[str, list[list[Any]]]
    browser_errors: list[str]
    window_seconds: float
    cpu: dict[str, float]
    reached: bool


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.tick_to_screen", description=__doc__)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--ticks", type=int, help="ticks measured; default 30 (10 with --quick)")
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--per-socket", type=int, default=20, help="symbols each socket watches")
    parser.add_argument("--batch-size", type=int, default=50, help="symbols per fetch task")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--browser-symbols", type=int, default=5, help="rows on the page")
    parser.add_argument("--pace", type=float, default=250, help="sockets opened per second")
    parser.add_argument("--quick", action="store_true", help="10 ticks: about a minute")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database-url", default=f"{DEFAULT_SERVER}/portfolio_bench_tick")
    parser.add_argument("--redis-prefix", default="pftick")
    args = parser.parse_args(argv)
    if not 1 <= args.per_socket <= args.symbols or args.browser_symbols > args.symbols:
        parser.error("--per-socket and --browser-symbols must be at most --symbols")
    return Options(
        sockets=args.sockets,
        ticks=args.ticks or (10 if args.quick else 30),
        symbols=args.symbols,
        per_socket=args.per_socket,
        batch_size=args.batch_size,
        client_processes=args.client_processes,
        browser_symbols=args.browser_symbols,
        pace=args.pace,
        quick=args.quick,
        keep=args.keep,
        database_url=args.database_url,
        redis_prefix=args.redis_prefix,
    )


def procfile_argv(name: str) -> list[str]:
    """A Procfile line run as the Procfile runs it: by a shell that expands ${PORT:-8000}."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    command = next(line.split(":", 1)[1] for line in lines if line.startswith(f"{name}:"))
    return ["/bin/sh", "-c", f"exec {command.strip()}"]


def child_env() -> dict[str, str]:
    """This process's settings (django_boot set them) for the processes it starts."""
    return os.environ | {
        "PATH": os.pathsep.join([str(Path(PYTHON).parent), os.environ.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
        "CELERY_LOG_LEVEL": "INFO",
        "REALTIME_UPDATE_INTERVAL": "1",
        "WEBSOCKET_TIMEOUT": "86400",  # the sockets only listen: not idle for this bench
        # A thousand anonymous sockets from one address: the load, not abuse.
        "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": "100000",
    }


def socket_symbols(index: int, symbols: Sequence[str], per_socket: int) -> list[str]:
    """Socket i watches `per_socket` consecutive symbols from i * per_socket, wrapping."""
    start = index * per_socket
    return [symbols[(start + k) % len(symbols)] for k in range(per_socket)]


async def log_wait(child: Child, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in child.log_path.read_text(errors="replace"):
        if not child.alive():
            raise RuntimeError(f"{child.name} exited; see {child.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} not ready in {timeout:.0f} s; see {child.log_path}")
        await asyncio.sleep(0.25)


async def all_request(children: Sequence[Child], command: dict[str, Any]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(child.request(command) for child in children)))


async def sockets_connect(
    clients: Sequence[Child], port: int, options: Options, symbols: Sequence[str]
) -> dict[str, Any]:
    every = [socket_symbols(i, symbols, options.per_socket) for i in range(options.sockets)]
    size = len(clients)
    replies = await asyncio.gather(
        *(
            client.request(
                {
                    "op": "connect",
                    "host": "127.0.0.1",
                    "port": port,
                    "path": WS_PATH,
                    "sockets": every[n::size],
                    "pace": options.pace / size,
                    "timeout": 60,
                },
                timeout=options.sockets / options.pace + 120,
            )
            for n, client in enumerate(clients)
        )
    )
    from bench.tick_to_screen_figures import watchers_merge

    return {
        "ready": sum(reply["ready"] for reply in replies),
        "failed": sum(reply["failed"] for reply in replies),
        "seconds": max(reply["seconds"] for reply in replies),
        "failures": [f for reply in replies for f in reply["failures"]][:5],
        "watchers": watchers_merge(replies),
    }


async def saves_wait(
    db: psycopg.AsyncConnection, since: datetime, wanted: int, timeout: float
) -> bool:
    """Until `wanted` quotes were saved since `since`; False when the timeout came first."""
    deadline = time.monotonic() + timeout
    while (done := await saves_count(db, since)) < wanted:
        if time.monotonic() > deadline:
            print(f"only {done} of {wanted} saves after {timeout:.0f} s: measuring those")
            return False
        await asyncio.sleep(0.5)
    return True


async def quiet_wait(read: Any, quiet: float, limit: float) -> None:
    """Until the number `read()` returns stops growing for `quiet` seconds (at most `limit`)."""
    deadline = time.monotonic() + limit
    last, since = await read(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = await read()
        if now != last:
            last, since = now, time.monotonic()


class Stack:
    """uvicorn, the worker, beat and the socket clients, each in its own process group."""

    def __init__(self, options: Options, log_dir: Path) -> None:
        self.options = options
        self.port = free_port()
        self.web = Child("web", log_dir)
        self.worker = Child("worker", log_dir)
        self.beat = Child("beat", log_dir)
        self.clients = [Child(f"clients{n}", log_dir) for n in range(options.client_processes)]
        self.env = child_env()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = self.env
        await self.web.start(procfile_argv("web"), env | {"PORT": str(self.port)}, cpu=None,
                             talk=False)  # fmt: skip
        await self.worker.start(procfile_argv("worker"), env, cpu=None, talk=False)
        for client in self.clients:
            argv = [PYTHON, "-m", "bench.tick_to_screen_clients"]
            await client.start(argv, env, cpu=None, talk=True)
        await self.web.wait_port(self.port)
        await log_wait(self.worker, " ready.", timeout=90)
        for client in self.clients:
            await client.line(timeout=60)

    async def stop(self) -> None:
        for client in self.clients:
            if client.alive():
                with contextlib.suppress(Exception):  # it answers nothing to quit
                    await client.request({"op": "quit"}, timeout=0.5)
        everyone = [self.beat, self.worker, self.web, *self.clients]
        await asyncio.gather(*(child.stop() for child in everyone))

    async def frames(self) -> int:
        return sum(reply["frames"] for reply in await all_request(self.clients, {"op": "stats"}))

    def cpu(self) -> dict[str, float]:
        return {"machine": machine_busy_seconds(), "web": self.web.cpu_seconds(),
                "clients": sum(client.cpu_seconds() for client in self.clients),
                "at": time.monotonic()}  # fmt: skip


async def window_run(
    stack: Stack, db: psycopg.AsyncConnection, symbols: Sequence[str]
) -> tuple[datetime, bool, dict[str, float]]:
    """Start beat, let it tick until enough quotes were saved, stop it, let everything land."""
    options = stack.options
    await all_request(stack.clients, {"op": "reset"})
    since = datetime.now(UTC)
    before = stack.cpu()
    await stack.beat.start(procfile_argv("beat"), stack.env, cpu=None, talk=False)
    print(f"beat started; waiting for {options.ticks} ticks of {len(symbols)} saved quotes")
    reached = await saves_wait(
        db, since, options.ticks * len(symbols), timeout=options.ticks * 4 + 60
    )
    after = stack.cpu()
    await stack.beat.stop()
    await quiet_wait(lambda: saves_count(db, since), quiet=2.0, limit=20)  # batches in flight
    await quiet_wait(stack.frames, quiet=1.0, limit=30)  # frames on their way
    await asyncio.sleep(0.5)  # the page's last animation frame
    span = after["at"] - before["at"]
    cpu = {
        key: round((after[key] - before[key]) / span, 2) for key in ("machine", "web", "clients")
    }
    return since, reached, cpu


async def measure(options: Options, symbols: list[str], session: str, log_dir: Path) -> Measured:
    stack = Stack(options, log_dir)
    watched = symbols[: options.browser_symbols]
    try:
        await stack.start()
        connected = await sockets_connect(stack.clients, stack.port, options, symbols)
        print(f"sockets: {connected['ready']:,} ready, {connected['failed']:,} failed in "
              f"{connected['seconds']:.1f} s {connected['failures'] or ''}")  # fmt: skip
        async with (
            dashboard_open(stack.base_url, session) as page,
            await psycopg.AsyncConnection.connect(options.database_url, autocommit=True) as db,
        ):
            await page.watch(watched)
            print(f"browser: dashboard live with {', '.join(watched)}")
            started = time.monotonic()
            since, reached, cpu = await window_run(stack, db, symbols)
            window = time.monotonic() - started
            saves = await saves_read(db, since)
            browser = await page.records()
        keyed = {save.key: micros(save.last_updated) for save in saves}
        latency = await all_request(stack.clients, {"op": "latency", "saves": keyed})
        stats = await all_request(stack.clients, {"op": "stats"})
        return Measured(connected, saves, latency, stats, browser, page.errors, window, cpu,
                        reached)  # fmt: skip
    finally:
        await stack.stop()


def prepare(options: Options) -> tuple[list[str], str]:
    """Assets, the save log, one priced tick, the viewer and the 1 s schedule."""
    from bench.pipeline import redis_prefix_clear
    from bench.tick_to_screen_data import (
        assets_price,
        assets_reset,
        saves_log_install,
        schedule_every_second,
        symbol_names,
        viewer_session,
    )

    cleared = redis_prefix_clear(options.redis_prefix)
    symbols = symbol_names(options.symbols)
    assets_reset(symbols)
    saves_log_install(options.database_url)
    priced = assets_price(symbols, options.batch_size)
    session = viewer_session(symbols[: options.browser_symbols])
    schedule_every_second(options.batch_size)
    print(f"{len(symbols)} assets, {priced} priced once; Redis prefix {options.redis_prefix} "
          f"({cleared} old keys cleared); refresh scheduled every 1 s")  # fmt: skip
    return symbols, session


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    load_before = os.getloadavg()[0]
    django_boot(database_url=options.database_url, redis_url=DEFAULT_REDIS_URL,
                redis_prefix=options.redis_prefix)  # fmt: skip
    from apps.streams.groups import asset_group
    from bench.pipeline import redis_prefix_clear
    from bench.tick_to_screen_data import database_drop
    from bench.tick_to_screen_layer import LayerArrivals
    from bench.tick_to_screen_report import figures_build, figures_print

    log_dir = Path(tempfile.mkdtemp(prefix="tick-to-screen-"))
    try:
        symbols, session = prepare(options)
        # Its thread calls async_to_sync: started and stopped outside the bench's event loop.
        layer = LayerArrivals(sorted(asset_group(symbol) for symbol in symbols))
        layer.start()
        try:
            measured = asyncio.run(measure(options, symbols, session, log_dir))
        finally:
            layer.stop()
    finally:
        print(f"process logs (uvicorn, worker, beat, clients): {log_dir}")
        redis_prefix_clear(options.redis_prefix)
        if not options.keep:
            database_drop(options.database_url)
    figures = figures_build(options, measured, layer.arrivals, load_before=load_before)
    figures_print(options, figures)
    path = results_write("tick_to_screen", figures, mode="quick" if options.quick else "full")
    print(f"figures written to {path.relative_to(ROOT)}")
    if figures["problems"]:
        raise SystemExit("FAILED: " + "; ".join(figures["problems"]))


if __name__ == "__main__":
    main()
