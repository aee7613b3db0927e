"""Publishing one tick to its Channels groups: our pipelined publisher against `group_send`.

    .venv/bin/python -m bench.publish [--runs 20] [--quick] [--sizes 500,5000]

Each run publishes a full tick (one asset_update per group, with its snapshot) three ways,
interleaved so they share the machine's noise:
- ours: `frames_publish_rollback_unsafe`, one pipelined round trip (apps/streams/publish.py);
- group_send: what it did before, the snapshots stored, then every group's `group_send`
  gathered into one `async_to_sync` call (one PUBLISH at a time, a new event loop per call);
- bare: one pipeline of raw PUBLISHes and nothing else, the floor for Redis and redis-py.
A receiver on the real layer, joined to two of the groups, checks that ours and group_send
each deliver every tick. Needs Redis only (no database).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.environment import DEFAULT_REDIS_URL
from bench.report import median, percentile, table_print

Frames = list[tuple[str, str]]
Variant = Callable[[Frames], None]
Figures = dict[str, float]
DELIVERING = ("ours", "group_send")  # the variants that publish to the layer's groups
MS_FIGURES = ("min_ms", "median_ms", "p95_ms")


@dataclass
class Options:
    runs: int
    sizes: list[int]
    redis_url: str
    redis_prefix: str
    mode: str


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.publish", description=__doc__)
    parser.add_argument("--runs", type=int, help="measured runs per size; default 20 (5 quick)")
    parser.add_argument("--quick", action="store_true", help="5 runs")
    parser.add_argument("--sizes", default="500,5000", help="groups per tick, comma-separated")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--redis-prefix", default="pfbenchpub")
    args = parser.parse_args(argv)
    return Options(
        runs=args.runs or (5 if args.quick else 20),
        sizes=[int(size) for size in args.sizes.split(",")],
        redis_url=args.redis_url,
        redis_prefix=args.redis_prefix,
        mode="quick" if args.quick else "full",
    )


def django_setup(options: Options) -> None:
    """Settings for Redis only: the bench never opens the database."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": options.redis_url,
            "REDIS_KEY_PREFIX": options.redis_prefix,
        }
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()


def tick_frames(size: int, tick: int) -> Frames:
    """One asset_update per group, about the size the pipeline encodes."""
    from apps.streams.frames import frame_encode
    from apps.streams.groups import asset_group

    frames = []
    for index in range(size):
        symbol = f"B{index:05d}"
        price = 100 + index % 500 + tick / 100
        data = {"symbol": symbol, "price": price, "change": 0.5, "change_percent": 0.5,
                "volume": 1_000_000 + index, "high": price + 1, "low": price - 1,
                "currency": "USD", "previous_close": price - 0.5, "source": "simulated",
                "quote_time": "2026-12-01T15:30:00Z", "stale": False}  # fmt: skip
        frames.append((asset_group(symbol), frame_encode("asset_update", data)))
    return frames


def variants() -> dict[str, Variant]:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.conf import settings

    from apps.streams.groups import group_event
    from apps.streams.publish import frames_publish_rollback_unsafe, publish_client
    from apps.streams.snapshots import snapshots_store

    layer = get_channel_layer()
    assert layer is not None

    async def sends_gathered(frames: Frames) -> None:
        await asyncio.gather(*(layer.group_send(g, group_event(g, t)) for g, t in frames))

    def group_send(frames: Frames) -> None:
        snapshots_store(frames)
        async_to_sync(sends_gathered)(frames)

    def bare(frames: Frames) -> None:
        pipe = publish_client(settings.REDIS_URL).pipeline(transaction=False)
        for group, text in frames:
            pipe.publish(f"{settings.REDIS_KEY_PREFIX}:bare:{group}", text)
        pipe.execute()

    return {"ours": frames_publish_rollback_unsafe, "group_send": group_send, "bare": bare}


def size_run(size: int, runs: int, publishers: dict[str, Variant]) -> dict[str, list[float]]:
    """Milliseconds per run and variant; one warm-up run each, not counted."""
    took: dict[str, list[float]] = {name: [] for name in publishers}
    for tick in range(runs + 1):
        frames = tick_frames(size, tick)
        for name, publish in publishers.items():
            started = time.perf_counter()
            publish(frames)
            if tick:
                took[name].append((time.perf_counter() - started) * 1000)
    return took


def figures_of(took: dict[str, list[float]]) -> dict[str, Figures]:
    ours = median(took["ours"])
    return {
        name: {
            "min_ms": round(min(values), 2),  # the least disturbed run, on a busy machine
            "median_ms": round(median(values), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
            "x_ours": round(median(values) / ours, 2),
        }
        for name, values in took.items()
    }


def size_measure(size: int, runs: int, publishers: dict[str, Variant]) -> dict[str, Figures]:
    """Figures of one tick size, once a receiver saw every delivering variant's ticks."""
    from bench.receiver import GroupReceiver

    frames = tick_frames(size, 0)
    receiver = GroupReceiver(sorted({frames[0][0], frames[-1][0]}))
    receiver.start()
    figures = figures_of(size_run(size, runs, publishers))
    expected = len(receiver.groups) * len(DELIVERING) * (runs + 1)
    delivered = receiver.wait_for(expected, timeout=10)
    receiver.stop()
    if not delivered:
        raise SystemExit(f"FAILED: {receiver.received()} of {expected} frames arrived")
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    django_setup(options)
    from bench.pipeline import redis_prefix_clear
    from bench.results import results_write

    publishers = variants()
    ticks = {size: size_measure(size, options.runs, publishers) for size in options.sizes}
    redis_prefix_clear(options.redis_prefix)
    print(f"publish: one tick to N groups, {options.runs} runs each (+1 warm-up)")
    table_print(
        ["groups", "publisher", "min ms", "median ms", "p95 ms", "x ours"],
        [
            [f"{size:,}", name, *(f"{row[key]:.1f}" for key in MS_FIGURES), f"{row['x_ours']:.2f}"]
            for size, figures in ticks.items()
            for name, row in figures.items()
        ],
    )
    saved = results_write("publish", {"runs": options.runs, "ticks": ticks}, mode=options.mode)
    print("saved", saved)


if __name__ == "__main__":
    main()
