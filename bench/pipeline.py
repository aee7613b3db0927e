"""Price pipeline throughput: fetch (simulated source), save, publish, through the real path.

    .venv/bin/python -m bench.pipeline [--symbols 500] [--batch-size 50] [--ticks 10] [--quick]

Creates the assets in a dedicated PostgreSQL database, then runs `price_batch_fetch` over every
batch for several ticks of a simulated clock (a new price every tick), publishing to the real
Redis channel layer, where one receiver joined to two asset groups counts what arrives.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from bench.environment import DEFAULT_REDIS_URL, DEFAULT_SERVER, django_boot
from bench.report import percentile, table_print
from bench.results import ROOT, results_write
from bench.stopwatch import Stopwatch

if TYPE_CHECKING:
    from bench.pipeline_source import SteppedClock
    from bench.receiver import GroupReceiver
    from bench.stopwatch import Target

EUR_EVERY = 20  # one symbol in 20 is a ".DE" listing, priced in EUR


@dataclass
class Options:
    symbols: int
    batch_size: int
    ticks: int
    database_url: str
    redis_url: str
    redis_prefix: str
    quick: bool = False


@dataclass
class Run:
    batch_seconds: list[float] = field(default_factory=list)
    wall: float = 0.0
    saved: int = 0
    problems: list[str] = field(default_factory=list)


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--ticks", type=int, help="measured ticks; default 10 (3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 ticks")
    parser.add_argument("--database-url", default=f"{DEFAULT_SERVER}/portfolio_bench_pipeline")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--redis-prefix", default="pfbench")
    args = parser.parse_args(argv)
    return Options(
        symbols=args.symbols,
        batch_size=args.batch_size,
        ticks=args.ticks or (3 if args.quick else 10),
        database_url=args.database_url,
        redis_url=args.redis_url,
        redis_prefix=args.redis_prefix,
        quick=args.quick,
    )


def assets_reset(count: int) -> list[str]:
    """Replace every asset with `count` fresh ones, never priced (the first tick saves all)."""
    from apps.market.models import Asset
    from apps.market.providers.simulated import currency_guess

    symbols = [f"P{i:04d}.DE" if i % EUR_EVERY == 0 else f"P{i:04d}" for i in range(1, count + 1)]
    Asset.objects.all().delete()
    Asset.objects.bulk_create(
        Asset(symbol=symbol, name=f"Bench {symbol}", currency=currency_guess(symbol))
        for symbol in symbols
    )
    return symbols


def redis_prefix_clear(prefix: str) -> int:
    from config.redis_client import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


def stage_targets() -> list[Target]:
    from apps.market import pipeline, services

    return [
        (pipeline, "quotes_save", "save"),
        (services, "asset_frames_build", "encode"),
        (services, "snapshots_store", "cache"),
        (services, "asset_snapshots_store", "cache"),
        (services, "intraday_push", "cache"),
        (services, "frames_publish_rollback_unsafe", "publish"),
    ]


def tick_run(batches: Sequence[Sequence[str]], run: Run) -> None:
    from apps.market.pipeline import price_batch_fetch

    for batch in batches:
        started = time.perf_counter()
        summary = price_batch_fetch(symbols=batch, source="simulated")
        run.batch_seconds.append(time.perf_counter() - started)
        run.saved += len(summary.changed)
        if summary.skipped or len(summary.changed) != len(batch):
            run.problems.append(
                f"batch of {len(batch)}: {len(summary.changed)} saved, "
                f"skipped={summary.skipped!r}, rejected={summary.rejected}, "
                f"failed={summary.failed}, older={summary.older}"
            )


def ticks_run(batches: Sequence[Sequence[str]], ticks: int, clock: SteppedClock) -> Run:
    run = Run()
    started = time.perf_counter()
    for _ in range(ticks):
        clock.advance()
        tick_run(batches, run)
    run.wall = time.perf_counter() - started
    return run


def receiver_check(receiver: GroupReceiver, expected: int) -> bool:
    """Print what the receiver counted; True when all arrived and the last prices are saved."""
    from apps.market.models import Asset

    ok = receiver.wait_for(expected, timeout=10)
    print(f"receiver: {receiver.received()} of {expected} frames arrived")
    for group, data in receiver.last_data.items():
        saved = Asset.objects.get(symbol=data["symbol"]).current_price
        agrees = saved is not None and Decimal(str(data["price"])) == saved
        ok = ok and agrees
        print(
            f"  {group}: {receiver.frames[group]} frames, last price {data['price']} "
            f"{'equals' if agrees else 'DIFFERS from'} the saved {saved}"
        )
    return ok


def stage_seconds(run: Run, stopwatch: Stopwatch) -> dict[str, float]:
    """Seconds per stage; `quotes_save` runs encode, cache and publish, so they come off it."""
    seconds = stopwatch.seconds
    after_save = seconds["encode"] + seconds["cache"] + seconds["publish"]
    return {
        "fetch (simulated source)": seconds["fetch"],
        "save (lock, validate, upsert)": seconds["save"] - after_save,
        "encode frames": seconds["encode"],
        "snapshots + intraday ring": seconds["cache"],
        "publish (channel layer)": seconds["publish"],
        "other (lock, breaker, heartbeat)": run.wall - seconds["fetch"] - seconds["save"],
    }


def stages_print(run: Run, stopwatch: Stopwatch, symbols: int) -> None:
    rows = stage_seconds(run, stopwatch)
    table_print(
        ["stage", "seconds", "share", "symbols/s"],
        [
            [
                name,
                f"{spent:.3f}",
                f"{spent / run.wall:.0%}",
                f"{symbols / spent:,.0f}" if spent > 0 else "-",
            ]
            for name, spent in rows.items()
        ],
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    django_boot(
        database_url=options.database_url,
        redis_url=options.redis_url,
        redis_prefix=options.redis_prefix,
    )
    from apps.market.pipeline import batches_split
    from apps.streams.groups import asset_group
    from bench.pipeline_source import SteppedClock, TimedSimulatedProvider, simulated_source
    from bench.receiver import GroupReceiver

    cleared = redis_prefix_clear(options.redis_prefix)
    symbols = assets_reset(options.symbols)
    batches = batches_split(symbols, options.batch_size)
    print(
        f"pipeline: {len(symbols)} symbols in {len(batches)} batches of {options.batch_size}, "
        f"{options.ticks} ticks (+1 warm-up, not counted); Redis prefix {options.redis_prefix} "
        f"({cleared} old keys cleared)"
    )
    stopwatch, clock = Stopwatch(), SteppedClock(options.ticks + 1)
    receiver = GroupReceiver(sorted({asset_group(symbols[0]), asset_group(symbols[-1])}))
    receiver.start()
    with simulated_source(TimedSimulatedProvider(clock=clock, stopwatch=stopwatch)):
        warm = ticks_run(batches, 1, clock)
        print(f"warm-up tick: {warm.wall:.2f} s (simulated paths computed and cached)")
        stopwatch.seconds.clear()
        with stopwatch.instrument(stage_targets()) as missing:
            run = ticks_run(batches, options.ticks, clock)
    delivered = receiver_check(receiver, expected=len(receiver.groups) * (options.ticks + 1))
    receiver.stop()
    redis_prefix_clear(options.redis_prefix)
    results_print(options, run, stopwatch, missing)
    path = results_write(
        "pipeline",
        run_figures(options, run, stopwatch, delivered=delivered),
        mode="quick" if options.quick else "full",
    )
    print(f"figures written to {path.relative_to(ROOT)}")
    if run.problems or not delivered:
        raise SystemExit("FAILED: some updates were not saved, or not delivered as saved")


def results_print(options: Options, run: Run, stopwatch: Stopwatch, missing: list[str]) -> None:
    symbols = options.ticks * options.symbols
    for problem in run.problems[:5]:
        print("PROBLEM:", problem)
    print(
        f"overall: {run.saved:,} of {symbols:,} symbols fetched, saved and published in "
        f"{run.wall:.2f} s = {run.saved / run.wall:,.0f} symbols/s"
    )
    stages_print(run, stopwatch, symbols)
    batch_ms = [seconds * 1000 for seconds in run.batch_seconds]
    print(
        f"per batch of {options.batch_size}: p50 {percentile(batch_ms, 0.5):.1f} ms, "
        f"p99 {percentile(batch_ms, 0.99):.1f} ms, max {max(batch_ms):.1f} ms "
        f"({len(batch_ms)} batches)"
    )
    # The snapshot writer has had two names: one of them is always absent.
    absent = [name for name in missing if not name.endswith("snapshots_store")]
    if absent:
        print("not instrumented (renamed?):", ", ".join(absent))


def run_figures(
    options: Options, run: Run, stopwatch: Stopwatch, *, delivered: bool
) -> dict[str, object]:
    symbols = options.ticks * options.symbols
    batch_ms = [seconds * 1000 for seconds in run.batch_seconds]
    return {
        "symbols": options.symbols,
        "batch_size": options.batch_size,
        "ticks": options.ticks,
        "saved": run.saved,
        "seconds": round(run.wall, 3),
        "symbols_per_s": round(run.saved / run.wall),
        "stages": {
            name: {"seconds": round(spent, 3), "share": round(spent / run.wall, 3)}
            for name, spent in stage_seconds(run, stopwatch).items()
        },
        "batch_ms": {
            "p50": round(percentile(batch_ms, 0.5), 1),
            "p99": round(percentile(batch_ms, 0.99), 1),
            "max": round(max(batch_ms), 1),
            "count": len(batch_ms),
        },
        "offered_symbols": symbols,
        "delivered_as_saved": delivered,
        "problems": len(run.problems),
    }


if __name__ == "__main__":
    main()
