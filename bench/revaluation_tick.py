"""The per-tick revaluation: what one changed batch costs for the portfolios people watch.

    .venv/bin/python -m bench.revaluation_tick [--watched 1000 10000] [--changed 500]
        [--repeat 5] [--quick] [--database-url postgres://...]

`portfolios_revalue(symbols=...)` values only watched portfolios, each with its positions'
rows (holdings), encodes one frame per portfolio, publishes them and pushes the 1-day ring.
This times that whole call for each number of watched portfolios, then each stage on its
own (value with holdings, encode, publish, ring), and the totals-only path
(`portfolios_value` + encode, what a tick cost before holdings) on the same portfolios.

It reuses the revaluation bench's data (`bench.revaluation_data`, 100,000 portfolios of 10
positions) and its own Redis key prefix, which it clears when done.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.environment import DEFAULT_REDIS_URL, DEFAULT_SERVER, django_boot
from bench.report import median, table_print
from bench.results import ROOT, results_write

REDIS_PREFIX = "pfbenchtick"


@dataclass
class Options:
    watched: list[int]
    changed: int
    repeat: int
    database_url: str
    quick: bool


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.revaluation_tick", description=__doc__)
    parser.add_argument("--watched", type=int, nargs="+", help="default 1,000 and 10,000")
    parser.add_argument("--changed", type=int, default=500, help="symbols in the changed batch")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measure (median)")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 watched, 3 runs")
    parser.add_argument("--database-url", help=f"default {DEFAULT_SERVER}/portfolio_bench")
    args = parser.parse_args(argv)
    watched = args.watched or ([100, 1_000] if args.quick else [1_000, 10_000])
    if min(watched) < 1 or max(watched) > 100_000:
        parser.error("--watched must be between 1 and 100,000 (the portfolios loaded)")
    return Options(
        watched=sorted(watched),
        changed=args.changed,
        repeat=3 if args.quick and args.repeat == 5 else max(1, args.repeat),
        database_url=args.database_url or f"{DEFAULT_SERVER}/portfolio_bench",
        quick=args.quick,
    )


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of `repeat` calls, and the last call's result."""
    seconds: list[float] = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return median(seconds), result


def tick_measure(symbols: Sequence[str], watched: int, repeat: int) -> dict[str, Any]:
    """Watch `watched` portfolios, then time the tick and its stages for them."""
    from apps.portfolios.holdings import portfolios_value_held
    from apps.portfolios.selectors import portfolio_ids_affected
    from apps.portfolios.services import portfolios_revalue
    from apps.portfolios.updates import portfolio_frames_build
    from apps.portfolios.valuation import portfolios_value
    from apps.portfolios.value_ring import value_ring_push
    from apps.streams.publish import frames_publish_rollback_unsafe
    from apps.streams.watching import watch_touch

    ids = random.Random(watched).sample(range(1, 100_001), watched)
    watch_cleared()
    watch_touch(kind="portfolio", members=ids, ttl=3_600)
    tick, valued = timed(lambda: portfolios_revalue(symbols=symbols), repeat)
    targets = list(portfolio_ids_affected(symbols).filter(portfolio_id__in=ids))
    value, held = timed(lambda: portfolios_value_held(targets), repeat)
    encode, frames = timed(lambda: portfolio_frames_build(held), repeat)
    publish, _ = timed(lambda: frames_publish_rollback_unsafe(frames), repeat)
    ring, _ = timed(lambda: value_ring_push(held), repeat)
    totals, _ = timed(lambda: portfolio_frames_build(portfolios_value(targets)), repeat)
    return {
        "watched": watched,
        "valued": len(valued),
        "tick_ms": tick * 1000,
        "value_with_holdings_ms": value * 1000,
        "encode_ms": encode * 1000,
        "publish_ms": publish * 1000,
        "ring_ms": ring * 1000,
        "totals_only_value_and_encode_ms": totals * 1000,
        "frame_kib": sum(len(text) for _, text in frames) / max(1, len(frames)) / 1024,
    }


def watch_cleared() -> None:
    """Drop this bench's Redis keys (watch set, snapshots, rings): its prefix only."""
    from config.redis_client import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}:*", count=10_000))
    for start in range(0, len(keys), 10_000):
        client.delete(*keys[start : start + 10_000])


def results_print(rows: Sequence[dict[str, Any]]) -> None:
    table_print(
        ["watched", "valued", "tick ms", "value+rows ms", "encode ms", "publish ms", "ring ms",
         "totals only ms", "frame KiB"],
        [[f"{r['watched']:,}", f"{r['valued']:,}", f"{r['tick_ms']:.0f}",
          f"{r['value_with_holdings_ms']:.0f}", f"{r['encode_ms']:.0f}", f"{r['publish_ms']:.0f}",
          f"{r['ring_ms']:.0f}", f"{r['totals_only_value_and_encode_ms']:.0f}",
          f"{r['frame_kib']:.1f}"] for r in rows],
    )  # fmt: skip
    print(
        "tick: portfolios_revalue end to end (value with rows, encode, publish, ring); "
        "totals only: portfolios_value + encode, no rows; medians"
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    django_boot(
        database_url=options.database_url, redis_url=DEFAULT_REDIS_URL, redis_prefix=REDIS_PREFIX
    )
    from bench.revaluation_data import Shape, data_ensure, held_symbols

    shape = Shape(100_000, 10, 500, 100_000 // 30)
    data_ensure(options.database_url, shape)
    symbols = held_symbols(shape)[: options.changed]
    print(f"changed batch: {len(symbols)} symbols; {options.repeat} runs per figure")
    rows: list[dict[str, Any]] = []
    try:
        for watched in options.watched:
            rows.append(tick_measure(symbols, watched, options.repeat))
            print(f"{watched:,} watched: tick {rows[-1]['tick_ms']:.0f} ms")
    finally:
        watch_cleared()
    results_print(rows)
    figures = {"changed": len(symbols), "repeat": options.repeat, "runs": rows}
    path = results_write("revaluation_tick", figures, mode="quick" if options.quick else "full")
    print(f"figures written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
