"""A load generator process: holds sockets, answers one JSON command per stdin line.

    python -m bench.fanout.loadgen

Commands: connect (open sockets, subscribe, wait for the acks), label (record latency under
a label, or stop), stats (counters and this process's CPU time), hists (latency histograms,
then cleared), close (the sockets of a tag), quit.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import uvloop

from bench.fanout.wsclient import Client, Tally, client_open

Command = dict[str, Any]


class Generator:
    def __init__(self) -> None:
        self.tally = Tally()
        self.clients: dict[int, list[Client]] = {}

    async def connect(self, command: Command) -> Command:
        host, port = command["host"], int(command["port"])
        pace = float(command.get("pace", 0))
        timeout = float(command.get("timeout", 60))
        started = time.monotonic()
        failures: list[str] = []

        async def open_one(symbols: list[str]) -> bool:
            client = Client(
                self.tally,
                host=host,
                port=port,
                path=command["path"],
                symbols=symbols,
                batching=bool(command.get("batching")),
                tag=int(command["tag"]),
                never_read=bool(command.get("never_read")),
            )
            self.clients.setdefault(client.tag, []).append(client)
            try:
                await client_open(client, host, port, small_rcvbuf=client.never_read)
                return await asyncio.wait_for(asyncio.shield(client.ready), timeout)
            except Exception as error:  # refused, reset, timed out: all count as failed
                if len(failures) < 5:
                    failures.append(f"{type(error).__name__}: {error}"[:200])
                return False

        tasks = []
        for n, symbols in enumerate(command["sockets"]):
            if pace > 0:
                delay = started + n / pace - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(open_one(symbols)))
        results = await asyncio.gather(*tasks)
        return {
            "ready": sum(results),
            "failed": len(results) - sum(results),
            "failures": failures,
            "seconds": time.monotonic() - started,
        }

    async def close(self, tag: int) -> Command:
        clients = self.clients.pop(tag, [])
        for client in clients:
            if client.transport is not None:
                client.transport.close()
        await asyncio.sleep(0.2)
        return {"closed": len(clients)}

    def stats(self) -> Command:
        tally = self.tally
        return {
            "updates": tally.updates,
            "frames": tally.frames,
            "other": tally.other,
            "closed": tally.closed,
            "close_codes": tally.close_codes,
            "errors": tally.errors,
            "cpu": time.process_time(),
            "at": time.monotonic(),
        }

    def hists(self) -> Command:
        hists, self.tally.hists = self.tally.hists, {}
        return {"hists": hists}

    def ticks(self) -> Command:
        ticks, self.tally.ticks = self.tally.ticks, {}
        return {"ticks": ticks}

    async def handle(self, command: Command) -> Command:
        op = command["op"]
        if op == "connect":
            return await self.connect(command)
        if op == "label":
            self.tally.label = command.get("label")
            self.tally.sample = int(command.get("sample", 1))
            return {}
        if op == "stats":
            return self.stats()
        if op == "ticks":
            return self.ticks()
        if op == "hists":
            return self.hists()
        if op == "close":
            return await self.close(int(command["tag"]))
        raise ValueError(f"unknown op {op!r}")


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    generator = Generator()
    print(json.dumps({"ready": True}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "quit":
            break
        print(json.dumps(await generator.handle(command)), flush=True)
    for tag in list(generator.clients):
        await generator.close(tag)


def main() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve())


if __name__ == "__main__":
    main()
