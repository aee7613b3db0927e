"""Evidence: one never-reading idle socket stops a server process's housekeeping loop.

    python -m bench.fanout.repro_idle

apps/realtime/book.py sweeps idle sockets one after the other, awaiting each
`idle_close()`, whose `close()` is an ASGI send; uvicorn's send first waits for the socket's
write buffer to drain, which for a peer that never reads is never. Here: 5 never-reading
and 20 reading sockets, all silent (idle); WEBSOCKET_TIMEOUT=10, REALTIME_CONNECTION_TTL=6
(heartbeat every 2 s). Expected: every socket closed with 4000 soon after 10 s, and the
registry keeping the open ones. Printed: what the clients saw, and the registry's entries.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import redis

from bench.fanout.cli import prepare, redis_forget
from bench.fanout.common import REDIS_PREFIX, REDIS_URL, server_env
from bench.fanout.fleet import Fleet
from bench.fanout.scenario import NEVER_READ, READERS, Mode, Run, Variant

MODE = Mode(
    quick=True,
    pin=False,
    workers=1,
    lat_seconds=0,
    step_seconds=0,
    rates=(),
    nr_seconds=0,
    textbook_pace=0,
    drain_limit=5,
)


def registry_entries(client: redis.Redis) -> int:
    keys = client.scan_iter(match=f"{REDIS_PREFIX}:conn:*", count=1000)
    return sum(1 for key in keys if key.count(b":") == 2)


async def main(log_dir: Path) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    fleet = Fleet(MODE.workers, log_dir)
    try:
        await fleet.start(server_env(), cpu=None)
        run = Run(Variant("repro", "project", "project"), MODE, fleet, log_dir)
        run.env_extra = {"WEBSOCKET_TIMEOUT": "10", "REALTIME_CONNECTION_TTL": "6"}
        async with run.processes():
            await fleet.connect(run.port, list(range(5)), tag=NEVER_READ, never_read=True)
            await fleet.connect(run.port, list(range(5, 25)), tag=READERS)
            started = time.monotonic()
            print("25 sockets subscribed; 5 never read. Filling their buffers: 16 padded ticks")
            await run.publisher.request({"op": "run", "rate": 4, "seconds": 4, "pad": 16384})
            print("  t(s)  reading sockets closed  close codes  registry entries")
            for _ in range(12):
                await asyncio.sleep(2)
                counts = await fleet.counts()
                print(
                    f"  {time.monotonic() - started:4.0f}  {counts.closed:>22}  "
                    f"{counts.close_codes!s:>11}  {registry_entries(client):>16}"
                )
            await fleet.close(READERS)
            await fleet.close(NEVER_READ)
    finally:
        await fleet.stop()


if __name__ == "__main__":
    directory = Path(tempfile.mkdtemp(prefix="fanout-repro-"))
    redis_forget()
    prepare()
    try:
        asyncio.run(main(directory))
    finally:
        redis_forget()
    print(f"(logs in {directory})")
