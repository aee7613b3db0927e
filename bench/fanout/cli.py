"""The one command: prepare, run the variants, print the figures and the targets.

.venv/bin/python -m bench.fanout [--quick]

The figures are also written as JSON to bench/results/ (see bench/README.md).

Full mode (about 12 minutes) pins the server to CPU 0 and the rest to CPU 1, waits up to
5 minutes for a quiet machine, and climbs a 13-step ladder (10 s a step) one step past
saturation, with a 60 s latency phase and 30 s never-reader halves.

--quick (about a minute) gives up, for speed: pinning (every process shares both cores, so
the figures move with whatever else runs); the "ours batched" variant (ask for it with
--only "ours batched"); the textbook's 1,000-at-once connection burst; the ladder's lower
steps (it climbs 4, 8, 16 ticks/s, 2.5 s each, and stops at the first saturated step, so
the saturation figure is coarse); and length (4 s of latency at 1 tick/s, 3 s never-reader
halves: the p99s rest on a few ticks). Use it to check that everything works and for
rough ratios; quote full runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import redis

from bench.fanout import report
from bench.fanout.common import (
    PER_SOCKET,
    PYTHON,
    REDIS_PREFIX,
    REDIS_URL,
    ROOT,
    SOCKETS,
    SYMBOLS,
    server_env,
)
from bench.fanout.figures import run_figures
from bench.fanout.fleet import Connected, Fleet
from bench.fanout.phases import run_variant, textbook_burst
from bench.fanout.procs import machine_busy_seconds, proc_cpu_seconds
from bench.fanout.scenario import Mode, Result, Variant
from bench.results import results_write

QUICK = Mode(
    quick=True,
    pin=False,
    workers=2,
    lat_seconds=4,
    step_seconds=2.5,
    rates=(4, 8, 16),
    nr_seconds=3,
    textbook_pace=100,
    drain_limit=10,
    settle_seconds=0.5,
    fill_rate=8,
    burst=False,
)
FULL = Mode(
    quick=False,
    pin=True,
    workers=2,
    lat_seconds=60,
    step_seconds=10,
    rates=(2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64),
    nr_seconds=30,
    textbook_pace=100,
    drain_limit=30,
    settle_seconds=2.0,
    fill_rate=4,
    burst=True,
)


def variants(mode: Mode, only: list[str]) -> list[Variant]:
    """The variants to run: those named with --only, else all (quick mode: not batched)."""
    every = [
        Variant("ours", "project", "project", never_readers=True),
        Variant("ours batched", "project", "project", batching=True),
        Variant("textbook", "textbook", "textbook", pace=mode.textbook_pace),
        Variant("bare", "bare", "bare"),
    ]
    if only:
        return [variant for variant in every if variant.name in only]
    return [variant for variant in every if not (mode.quick and variant.batching)]


def redis_forget() -> int:
    """Delete the bench's own keys (its prefix only)."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


def prepare() -> None:
    subprocess.run(
        [PYTHON, "-m", "bench.fanout.prepare"],
        cwd=ROOT,
        env=server_env() | {"REALTIME_CACHE_TIMEOUT": "86400"},
        check=True,
        timeout=300,
    )


def others_load(seconds: float) -> float:
    """Cores kept busy by other processes (this bench runs nothing yet)."""
    before, mine = machine_busy_seconds(), proc_cpu_seconds(os.getpid())
    time.sleep(seconds)
    busy = machine_busy_seconds() - before - (proc_cpu_seconds(os.getpid()) - mine)
    return max(0.0, busy / seconds)


def wait_quiet(limit: float, sample: float) -> float:
    """Print how busy the machine is; wait (up to `limit` s) for it to calm down."""
    deadline = time.monotonic() + limit
    load = others_load(sample)
    while load > 0.3 and time.monotonic() < deadline:
        print(f"other processes keep {load:.2f} cores busy; waiting for a quieter machine ...")
        time.sleep(20)
        load = others_load(sample)
    print(f"other processes' load at start: {load:.2f} cores (see the others' CPU column)")
    return load


def header(mode: Mode) -> str:
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("uvicorn", "websockets", "channels", "channels-redis", "redis", "uvloop")
    )
    pin = (
        "server pinned to CPU 0; load generator, publisher and this process to CPU 1 (taskset)"
        if mode.pin
        else "no pinning (quick mode): processes share both cores"
    )
    return (
        f"fan-out bench, {'quick' if mode.quick else 'full'} mode, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}\n{versions}\n{pin}; Redis unpinned.\n"
        f"{SOCKETS:,} sockets x {PER_SOCKET} of {SYMBOLS} symbols; a full tick = {SYMBOLS} "
        f"publishes = {SOCKETS * PER_SOCKET:,} socket updates."
    )


async def bench(
    mode: Mode, log_dir: Path, only: list[str]
) -> tuple[dict[str, Result], tuple[Connected, str] | None]:
    fleet = Fleet(mode.workers, log_dir)
    results: dict[str, Result] = {}
    burst = None
    try:
        await fleet.start(server_env(), cpu=1 if mode.pin else None)
        for variant in variants(mode, only):
            if variant.server == "textbook" and mode.burst:
                print("textbook: a burst of 1,000 sockets at once first ...", flush=True)
                began = time.monotonic()
                burst = await textbook_burst(mode, fleet, log_dir)
                print(f"  done in {time.monotonic() - began:.0f} s", flush=True)
            print(f"{variant.name}: running ...", flush=True)
            started = time.monotonic()
            result = await run_variant(variant, mode, fleet, log_dir)
            results[variant.name] = result
            print(f"  done in {time.monotonic() - started:.0f} s ({report.phases_line(result)})")
            print(f"  server: {result.command}")
            for note in result.notes:
                print(f"  note: {note}")
    finally:
        await fleet.stop()
    return results, burst


def summary_print(
    mode: Mode, results: dict[str, Result], burst: tuple[Connected, str] | None
) -> list[report.Target]:
    """The tables, the burst and never-readers lines, and the targets (returned)."""
    done = list(results.values())
    print()
    print(report.variants_table(done))
    print()
    print(report.steps_table(done))
    print()
    if burst is not None:
        print(report.burst_line(*burst))
    if "ours" in results:
        print("\n".join(report.never_lines(results["ours"])))
    steps = [(s, r.variant.name) for r in done for s in r.steps]
    if steps:
        peak, name = max(steps, key=lambda pair: pair[0].loadgen_cpu)
        verdict = (
            "not the bottleneck"
            if peak.loadgen_cpu < 0.8 or peak.server_cpu >= 0.9
            else "MAY BE THE BOTTLENECK"
        )
        print(
            f"load generator ({mode.workers} processes, raw-socket reader): at most "
            f"{100 * peak.loadgen_cpu:.0f}% of one core ({name}, {peak.rate:g} ticks/s, "
            f"server at {100 * peak.server_cpu:.0f}%): {verdict}"
        )
    if {"ours", "bare", "textbook"} <= results.keys():
        found = report.targets(results)
        print()
        print(report.targets_table(found))
        return found
    return []


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="about a minute; what it gives up: see above"
    )
    parser.add_argument("--only", action="append", default=[], help="run only this variant")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=None,
        help="seconds to wait for other processes to calm down (default: 0 quick, 300 full)",
    )
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    if mode.pin:
        os.sched_setaffinity(0, {1})
    started = time.monotonic()
    print(header(mode), flush=True)
    load = wait_quiet(
        args.wait_quiet if args.wait_quiet is not None else (0 if mode.quick else 300),
        sample=1.0 if mode.quick else 3.0,
    )
    log_dir = Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    try:
        redis_forget()
        prepare()
        print(f"prepared in {time.monotonic() - started:.1f} s", flush=True)
        results, burst = asyncio.run(bench(mode, log_dir, args.only))
    finally:
        redis_forget()
        if args.keep_logs:
            print(f"logs kept in {log_dir}")
        else:
            for path in log_dir.iterdir():
                path.unlink()
            with contextlib.suppress(OSError):
                log_dir.rmdir()
    found = summary_print(mode, results, burst)
    seconds = time.monotonic() - started
    figures = run_figures(
        mode, list(results.values()), found, burst=burst, others_load=load, seconds=seconds
    )
    name = ("quick" if mode.quick else "full") + ("-partial" if args.only else "")
    path = results_write("fanout", figures, mode=name)
    print(f"total {seconds:.0f} s; figures written to {path.relative_to(ROOT)}")
