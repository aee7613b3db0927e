"""The publisher process: full ticks at a given rate, the way each variant publishes them.

    python -m bench.fanout.publisher {project|textbook|bare}

Reads one JSON command per line on stdin ({"op": "run", "rate": r, "seconds": s} or
{"op": "quit"}) and answers one JSON line per run: ticks published, and how long each took.
A run may ask for `"pad": bytes` of filler per frame and `"filler": true` (the never-readers'
own symbols instead of the 500).

- project: `frames_publish_rollback_unsafe(frames)`, the pipeline's own call (one
  async_to_sync run of gathered group_sends on the pub/sub layer);
- textbook: `group_send` per symbol on channels_redis' core layer, a message dict each;
- bare: one pipelined batch of Redis PUBLISH, one per symbol, for the bare server.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable

from bench.fanout.common import BARE_CHANNEL_PREFIX, FILLER_SYMBOLS, REDIS_URL
from bench.fanout.ticks import TickMaker

Publish = Callable[[TickMaker, int], None]  # arguments: the tick's symbols, padding per frame


def project_publisher() -> Publish:
    import django

    django.setup()
    from apps.streams.publish import frames_publish_rollback_unsafe

    return lambda maker, pad: frames_publish_rollback_unsafe(maker.encoded(pad))


def textbook_publisher() -> Publish:
    import django

    django.setup()
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None
    loop = asyncio.new_event_loop()

    async def tick(maker: TickMaker) -> None:
        for group, message in maker.messages():
            await layer.group_send(group, {"type": "asset.update", "message": message})

    return lambda maker, pad: loop.run_until_complete(tick(maker))


def bare_publisher() -> Publish:
    import redis

    client = redis.Redis.from_url(REDIS_URL)

    def publish(maker: TickMaker, pad: int) -> None:
        pipe = client.pipeline(transaction=False)
        for group, text in maker.encoded(pad):
            pipe.publish(BARE_CHANNEL_PREFIX + group, text)
        pipe.execute()

    return publish


def run(
    publish: Publish, maker: TickMaker, rate: float, seconds: float, pad: int = 0
) -> dict[str, float]:
    """Ticks on a fixed schedule; a late tick goes out at once, none is skipped."""
    durations: list[float] = []
    start = time.monotonic()
    end = start + seconds
    due = start
    while due < end:
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        began = time.monotonic()
        if began >= end:
            break
        publish(maker, pad)
        durations.append(time.monotonic() - began)
        due += 1 / rate
    elapsed = max(time.monotonic() - start, seconds)
    return {
        "ticks": len(durations),
        "seconds": elapsed,
        "publish_ms_median": 1000 * statistics.median(durations) if durations else 0.0,
        "publish_ms_max": 1000 * max(durations) if durations else 0.0,
        "busy": sum(durations) / elapsed if elapsed else 0.0,
    }


def main() -> None:
    kind = sys.argv[1]
    makers = {False: TickMaker(), True: TickMaker(symbols=FILLER_SYMBOLS)}
    builders = {
        "project": project_publisher,
        "textbook": textbook_publisher,
        "bare": bare_publisher,
    }
    publish = builders[kind]()
    print(json.dumps({"ready": kind}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "quit":
            break
        result = run(
            publish,
            makers[bool(command.get("filler"))],
            float(command["rate"]),
            float(command["seconds"]),
            int(command.get("pad", 0)),
        )
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
