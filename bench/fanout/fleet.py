"""The load generator processes, driven as one: sockets spread over them, figures summed."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fanout.common import PYTHON, WS_PATH, Histogram, hist_merge, socket_symbols
from bench.fanout.procs import Child


@dataclass
class Counts:
    updates: int
    frames: int
    closed: int
    cpu: float  # CPU seconds of all load generator processes
    at: float
    close_codes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Connected:
    ready: int
    failed: int
    seconds: float
    failures: list[str]


class Fleet:
    def __init__(self, size: int, log_dir: Path) -> None:
        self.children = [Child(f"loadgen{n}", log_dir) for n in range(size)]

    async def start(self, env: dict[str, str], cpu: int | None) -> None:
        for child in self.children:
            await child.start([PYTHON, "-m", "bench.fanout.loadgen"], env, cpu=cpu, talk=True)
        for child in self.children:
            await child.line(timeout=30)

    async def stop(self) -> None:
        for child in self.children:
            if child.alive():
                # It answers nothing to quit: the timeout ends the wait, stop() follows.
                with contextlib.suppress(Exception):
                    await child.request({"op": "quit"}, timeout=0.5)
            await child.stop()

    async def _all(self, command: dict[str, Any], timeout: float = 120) -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(*(child.request(command, timeout) for child in self.children))
        )

    async def connect(
        self,
        port: int,
        indices: list[int],
        *,
        tag: int,
        pace: float = 0.0,
        batching: bool = False,
        never_read: bool = False,
        extra_symbols: list[str] | None = None,
        timeout: float = 120,
    ) -> Connected:
        """Sockets `indices` (each with its 20 symbols, and `extra_symbols`), spread evenly.

        `pace` is in sockets/s over the whole fleet; 0 connects them all at once.
        """
        extra = extra_symbols or []
        size = len(self.children)
        shares = [indices[n::size] for n in range(size)]
        replies = await asyncio.gather(
            *(
                child.request(
                    {
                        "op": "connect",
                        "host": "127.0.0.1",
                        "port": port,
                        "path": WS_PATH,
                        "sockets": [socket_symbols(i) + extra for i in share],
                        "tag": tag,
                        "pace": pace / size,
                        "batching": batching,
                        "never_read": never_read,
                        "timeout": timeout,
                    },
                    timeout=timeout + len(share) / max(pace / size, 1e-9) + 30
                    if pace
                    else timeout + 30,
                )
                for child, share in zip(self.children, shares, strict=True)
            )
        )
        return Connected(
            ready=sum(r["ready"] for r in replies),
            failed=sum(r["failed"] for r in replies),
            seconds=max(r["seconds"] for r in replies),
            failures=[f for r in replies for f in r["failures"]][:5],
        )

    async def label(self, label: str | None, sample: int = 1) -> None:
        await self._all({"op": "label", "label": label, "sample": sample})

    async def counts(self) -> Counts:
        replies = await self._all({"op": "stats"})
        codes: dict[str, int] = {}
        for reply in replies:
            for code, n in reply["close_codes"].items():
                codes[code] = codes.get(code, 0) + n
        return Counts(
            updates=sum(r["updates"] for r in replies),
            frames=sum(r["frames"] for r in replies),
            closed=sum(r["closed"] for r in replies),
            cpu=sum(r["cpu"] for r in replies),
            at=max(r["at"] for r in replies),
            close_codes=codes,
            errors=[e for r in replies for e in r["errors"]][:5],
        )

    async def hists(self) -> dict[str, dict[int, Histogram]]:
        """Latency histograms by label and socket tag, merged over processes (then cleared)."""
        merged: dict[str, dict[int, list[dict[int, int]]]] = {}
        for reply in await self._all({"op": "hists"}):
            for label, by_tag in reply["hists"].items():
                for tag, hist in by_tag.items():
                    part = {int(k): v for k, v in hist.items()}
                    merged.setdefault(label, {}).setdefault(int(tag), []).append(part)
        return {
            label: {tag: hist_merge(parts) for tag, parts in by_tag.items()}
            for label, by_tag in merged.items()
        }

    async def ticks(self) -> dict[int, tuple[int, int]]:
        """Per tick (publish stamp, us): updates received and the last arrival (us), merged."""
        merged: dict[int, tuple[int, int]] = {}
        for reply in await self._all({"op": "ticks"}):
            for stamp, (count, last) in reply["ticks"].items():
                seen, latest = merged.get(int(stamp), (0, 0))
                merged[int(stamp)] = (seen + count, max(latest, last))
        return merged

    async def close(self, tag: int) -> None:
        await self._all({"op": "close", "tag": tag})
