"""The sockets of bench.tick_to_screen: when each update arrived, keyed by (symbol, quote time).

    python -m bench.tick_to_screen_clients   (driven over stdin/stdout by bench.tick_to_screen)

One JSON command per line: connect (open sockets, subscribe, wait for the acks), reset (forget
what arrived so far), stats, latency (given each save's time, histograms back), quit. A frame
is never decoded: the symbol and the fixed-width quote time are cut out of its bytes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import uvloop

from bench.fanout.common import Histogram, latency_bin
from bench.fanout.wsclient import Client, Tally, client_open

Command = dict[str, Any]
UPDATE_HEAD = b'{"type":"asset_update"'
SYMBOL_MARK = b'"symbol":"'
QUOTE_TIME_MARK = b'"quote_time":"'
QUOTE_TIME_WIDTH = len("2026-12-01T17:21:10.000Z")  # wire_time: always milliseconds and Z


class Arrivals:
    """Receive times (us since the epoch) per b"SYMBOL|quote_time", over all sockets."""

    def __init__(self) -> None:
        self.times: dict[bytes, list[int]] = {}
        self.frames = 0
        self.repeated = 0  # a quote time a socket already had, or an older one

    def reset(self) -> None:
        self.times, self.frames, self.repeated = {}, 0, 0


class RecordingClient(Client):
    """The fan-out bench's light socket, recording each asset update's arrival."""

    def __init__(self, arrivals: Arrivals, tally: Tally, **options: Any) -> None:
        super().__init__(tally, batching=False, tag=0, never_read=False, **options)
        self.arrivals = arrivals
        self.latest: dict[bytes, bytes] = {}  # symbol -> the newest quote time it got

    def _text(self, data: bytes | bytearray, start: int, end: int, now: int) -> None:
        symbol_at = data.find(SYMBOL_MARK, start, end)
        quoted_at = data.find(QUOTE_TIME_MARK, start, end)
        if not data.startswith(UPDATE_HEAD, start) or symbol_at < 0 or quoted_at < 0:
            self._control(bytes(data[start:end]))
            return
        symbol_at += len(SYMBOL_MARK)
        symbol = bytes(data[symbol_at : data.index(b'"', symbol_at)])
        quoted_at += len(QUOTE_TIME_MARK)
        quoted = bytes(data[quoted_at : quoted_at + QUOTE_TIME_WIDTH])
        arrivals = self.arrivals
        arrivals.frames += 1
        # Fixed-width ISO text sorts as time does.
        if quoted <= self.latest.get(symbol, b""):
            arrivals.repeated += 1
            return
        self.latest[symbol] = quoted
        arrivals.times.setdefault(symbol + b"|" + quoted, []).append(now)


class Sockets:
    def __init__(self) -> None:
        self.tally = Tally()
        self.arrivals = Arrivals()
        self.clients: list[RecordingClient] = []

    async def connect(self, command: Command) -> Command:
        host, port, path = command["host"], int(command["port"]), command["path"]
        pace, timeout = float(command["pace"]), float(command["timeout"])
        started = time.monotonic()
        failures: list[str] = []

        async def open_one(symbols: list[str]) -> bool:
            client = RecordingClient(
                self.arrivals, self.tally, host=host, port=port, path=path, symbols=symbols
            )
            self.clients.append(client)
            try:
                await client_open(client, host, port, small_rcvbuf=False)
                return await asyncio.wait_for(asyncio.shield(client.ready), timeout)
            except Exception as error:  # refused, reset, timed out: each counts as failed
                if len(failures) < 5:
                    failures.append(f"{type(error).__name__}: {error}"[:200])
                return False

        tasks = []
        for n, symbols in enumerate(command["sockets"]):
            if pace > 0 and (delay := started + n / pace - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(open_one(symbols)))
        ready = await asyncio.gather(*tasks)
        watchers = Counter(
            symbol
            for ok, symbols in zip(ready, command["sockets"], strict=True)
            if ok
            for symbol in symbols
        )
        return {
            "ready": sum(ready),
            "failed": len(ready) - sum(ready),
            "failures": failures,
            "seconds": round(time.monotonic() - started, 2),
            "watchers": dict(watchers),
        }

    def stats(self) -> Command:
        return {
            "frames": self.arrivals.frames,
            "repeated": self.arrivals.repeated,
            "closed": self.tally.closed,
            "close_codes": self.tally.close_codes,
            "errors": self.tally.errors,
            "cpu": time.process_time(),
        }

    def latency(self, saves: dict[str, int]) -> Command:
        """Per tick (quote time): a histogram of receive minus save time, the count and max."""
        ticks: dict[str, dict[str, Any]] = {}
        unmatched = early = 0
        for key, times in self.arrivals.times.items():
            saved = saves.get(key.decode())
            if saved is None:
                unmatched += len(times)
                continue
            tick = ticks.setdefault(key.split(b"|", 1)[1].decode(), _tick())
            hist: Histogram = tick["hist"]
            for received in times:
                micros = received - saved
                early += micros < 0  # the same clock on both sides: never, unless it jumped
                index = latency_bin(micros)
                hist[index] = hist.get(index, 0) + 1
                tick["max_us"] = max(tick["max_us"], micros)
            tick["count"] += len(times)
        return {"ticks": ticks, "unmatched": unmatched, "early": early}

    async def close(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.close()
        await asyncio.sleep(0.2)

    async def handle(self, command: Command) -> Command:
        op = command["op"]
        if op == "connect":
            return await self.connect(command)
        if op == "reset":
            self.arrivals.reset()
            return {}
        if op == "stats":
            return self.stats()
        if op == "latency":
            return self.latency(command["saves"])
        raise ValueError(f"unknown op {op!r}")


def _tick() -> dict[str, Any]:
    return {"hist": {}, "count": 0, "max_us": 0}


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)  # the latency command carries every save
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sockets = Sockets()
    print(json.dumps({"ready": True}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "quit":
            break
        print(json.dumps(await sockets.handle(command)), flush=True)
    await sockets.close()


def main() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve())


if __name__ == "__main__":
    main()
