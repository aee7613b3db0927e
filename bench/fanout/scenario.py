"""One variant's run: start its server and publisher, connect, measure, stop them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.fanout.common import (
    PER_SOCKET,
    PYTHON,
    ROOT,
    SOCKETS,
    Histogram,
    hist_merge,
    hist_percentile_ms,
    server_env,
)
from bench.fanout.fleet import Connected, Fleet
from bench.fanout.procs import (
    Child,
    RssWatch,
    free_port,
    machine_busy_seconds,
    proc_cpu_seconds,
    redis_server_pid,
)

READERS, SPARE = 0, 1  # socket tags: sockets 0-899, and 900-999 (swapped for never-readers)
NEVER_READ, WARMUP = 2, 9
SPARE_FROM = SOCKETS * 9 // 10


@dataclass(frozen=True)
class Mode:
    quick: bool
    pin: bool
    workers: int
    lat_seconds: float
    step_seconds: float
    rates: tuple[float, ...]
    nr_seconds: float
    textbook_pace: float
    drain_limit: float
    settle_seconds: float = 2.0  # pause before reading the server's RSS (then until it holds)
    fill_rate: float = 4.0  # padded ticks/s that fill the never-readers' buffers (16 in all)
    burst: bool = True  # run the textbook's 1,000-at-once connection burst


@dataclass(frozen=True)
class Variant:
    name: str
    server: str  # project | textbook | bare
    publisher: str  # project | textbook | bare
    batching: bool = False
    pace: float = 0.0  # sockets per second when connecting; 0 = all at once
    never_readers: bool = False


@dataclass
class Step:
    rate: float
    ticks: int
    achieved: float  # ticks/s the publisher managed
    publish_ms: float  # median time to publish one tick
    offered: float  # updates/s asked of the server: rate x sockets x 20
    delivered: float  # updates/s, from when ticks finished arriving (see Run.ticks)
    server_cpu: float  # fraction of one core
    loadgen_cpu: float
    publisher_cpu: float
    redis_cpu: float
    others_cpu: float  # every other process on the machine (other people's work)
    p50: float
    p99: float
    complete: float  # received / published updates after draining
    limit: str = ""

    @property
    def saturated(self) -> bool:
        return self.delivered < 0.9 * self.offered or self.complete < 0.97


@dataclass
class NeverReaders:
    p99_without: float
    p99_with: float
    p50_without: float
    p50_with: float
    rss_without_kib: int
    rss_with_kib: int
    rss_with_mid_kib: int
    peak_with_kib: int
    send_queue: str


@dataclass
class Result:
    variant: Variant
    command: str
    connect: Connected
    rss_before_kib: int = 0
    rss_idle_kib: int = 0
    lat_thirds: list[tuple[float, float, int]] = field(default_factory=list)
    lat_all: Histogram = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    peak_rss_kib: int = 0
    never: NeverReaders | None = None
    notes: list[str] = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def idle_kib_per_socket(self) -> float:
        """Per socket that connected: failed ones (the textbook's, under load) hold nothing."""
        return (self.rss_idle_kib - self.rss_before_kib) / max(1, self.connect.ready)

    @property
    def saturation(self) -> Step | None:
        return max(self.steps, key=lambda s: s.delivered) if self.steps else None

    @property
    def limited_by(self) -> str:
        first = next((s for s in self.steps if s.saturated), None)
        return first.limit if first else f"not reached at {self.steps[-1].rate:g} ticks/s"


def procfile_web_argv(app: str, port: int) -> list[str]:
    """The Procfile's `web` line as argv, with HOST/PORT filled in and another app if asked."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    words = shlex.split(
        line.removeprefix("web:")
        .replace("${HOST:-127.0.0.1}", "127.0.0.1")
        .replace("${PORT:-8000}", str(port))
    )
    assert words[0] == "uvicorn", words
    assert words[1] == "config.asgi:application", words
    return [str(Path(PYTHON).parent / "uvicorn"), app, *words[2:]]


def server_argv(kind: str, port: int) -> list[str]:
    if kind == "project":
        return procfile_web_argv("config.asgi:application", port)
    if kind == "textbook":
        return procfile_web_argv("bench.fanout.textbook_app:application", port)
    if kind == "traced":  # the project server under tracemalloc (bench.fanout.profile memory)
        argv = procfile_web_argv("config.asgi:application", port)
        return [PYTHON, "-m", "bench.fanout.traced_server", *argv[1:]]
    return [PYTHON, "-m", "bench.fanout.bare_server", str(port)]


def settings_for(kind: str) -> str:
    return "bench.fanout.textbook_settings" if kind == "textbook" else "config.settings"


class Run:
    """The processes of one variant, and the phases that measure it."""

    def __init__(self, variant: Variant, mode: Mode, fleet: Fleet, log_dir: Path) -> None:
        self.variant = variant
        self.mode = mode
        self.fleet = fleet
        self.port = free_port()
        self.server = Child(f"{variant.name}-server", log_dir)
        self.publisher = Child(f"{variant.name}-publisher", log_dir)
        self.rss = RssWatch(self.server)
        self.readers = SOCKETS
        self.redis_pid = redis_server_pid(6379)
        self.env_extra: dict[str, str] = {}  # settings a special run changes (repro_idle)

    def cpu_snapshot(self) -> dict[str, float]:
        return {
            "machine": machine_busy_seconds(),
            "server": self.server.cpu_seconds(),
            "publisher": self.publisher.cpu_seconds(),
            "redis": proc_cpu_seconds(self.redis_pid) if self.redis_pid else 0.0,
            "me": proc_cpu_seconds(os.getpid()),
        }

    @contextlib.asynccontextmanager
    async def processes(self) -> AsyncIterator[None]:
        env = server_env(settings_for(self.variant.server)) | self.env_extra
        cpu_server, cpu_load = (0, 1) if self.mode.pin else (None, None)
        try:
            await self.server.start(
                server_argv(self.variant.server, self.port), env, cpu=cpu_server, talk=False
            )
            await self.publisher.start(
                [PYTHON, "-m", "bench.fanout.publisher", self.variant.publisher],
                server_env(settings_for(self.variant.publisher)),
                cpu=cpu_load,
                talk=True,
            )
            await self.server.wait_port(self.port)
            await self.publisher.line(timeout=60)
            self.rss.start()
            yield
        finally:
            await self.rss.stop()
            # Measured by now: no need to wait out a slow graceful exit (the textbook's).
            grace = 1.0 if self.mode.quick else 5.0
            await asyncio.gather(self.publisher.stop(grace), self.server.stop(grace))

    async def ticks(
        self, rate: float, seconds: float, labels: list[str], sample: int = 1
    ) -> tuple[Step, dict[str, dict[int, Histogram]]]:
        """Publish at `rate` for `seconds`, latency under `labels` (equal slices of time)."""
        fleet = self.fleet
        start_counts = await fleet.counts()
        if labels:
            await fleet.label(labels[0], sample)
        job = asyncio.ensure_future(
            self.publisher.request({"op": "run", "rate": rate, "seconds": seconds}, seconds + 120)
        )
        began, wall = time.monotonic(), time.time_ns() // 1000
        warm = min(1.0, seconds / 4)
        await asyncio.sleep(warm)
        a, cpu_a = await fleet.counts(), self.cpu_snapshot()
        for n, label in enumerate(labels[1:], start=1):
            await asyncio.sleep(max(0.0, began + seconds * n / len(labels) - time.monotonic()))
            await fleet.label(label, sample)
        await asyncio.sleep(max(0.0, began + seconds - 0.05 - time.monotonic()))
        b, cpu_b = await fleet.counts(), self.cpu_snapshot()
        published = await job
        expected = published["ticks"] * self.readers * PER_SOCKET
        await self.drain(until=start_counts.updates + expected)
        await fleet.label(None)
        end_counts = await fleet.counts()
        hists = await fleet.hists()
        records = await fleet.ticks()
        span = b.at - a.at
        delivered = (b.updates - a.updates) / span
        # Throughput from completions: ticks published after the warm-up, the updates of all
        # but the first over the time from the first's last arrival to the last one's. A tick
        # is a burst, so counting arrivals in a time window would be off by up to one tick.
        chosen = sorted(s for s in records if s >= wall + warm * 1e6)
        if len(chosen) >= 3:
            first, last = records[chosen[0]][1], max(records[s][1] for s in chosen)
            if last > first:
                delivered = sum(records[s][0] for s in chosen[1:]) / ((last - first) / 1e6)
        used = {key: (cpu_b[key] - cpu_a[key]) / span for key in cpu_a}
        loadgen = (b.cpu - a.cpu) / span
        ours = used["server"] + used["publisher"] + used["redis"] + used["me"] + loadgen
        merged = hist_merge(h for by_tag in hists.values() for h in by_tag.values())
        step = Step(
            rate=rate,
            ticks=published["ticks"],
            achieved=published["ticks"] / published["seconds"],
            publish_ms=published["publish_ms_median"],
            offered=rate * self.readers * PER_SOCKET,
            delivered=delivered,
            server_cpu=used["server"],
            loadgen_cpu=loadgen,
            publisher_cpu=used["publisher"],
            redis_cpu=used["redis"],
            others_cpu=max(0.0, used["machine"] - ours),
            p50=hist_percentile_ms(merged, 0.5),
            p99=hist_percentile_ms(merged, 0.99),
            complete=(end_counts.updates - start_counts.updates) / expected if expected else 0,
        )
        step.limit = self.limit_of(step)
        return step, hists

    def limit_of(self, step: Step) -> str:
        if not step.saturated:
            return ""
        published = step.achieved * self.readers * PER_SOCKET
        if step.delivered >= 0.9 * published and step.complete >= 0.97:
            return "publisher"  # the server kept up with what the publisher managed
        if step.server_cpu >= 0.85:
            return "server CPU"
        busy = step.server_cpu + step.loadgen_cpu + step.publisher_cpu + step.redis_cpu
        if not self.mode.pin and busy + step.others_cpu >= 0.9 * (os.cpu_count() or 1):
            return "all cores busy (server shares them, unpinned)"
        if step.loadgen_cpu >= 0.9:
            return "load generator"
        if step.complete < 0.97 and self.variant.batching:
            return "server lags: updates conflated (latest wins)"
        if step.complete < 0.97:
            return "server (waits on the layer, drops)"
        if step.others_cpu >= 0.25:
            return "server, CPU shared with other processes"
        if self.mode.pin and step.loadgen_cpu + step.publisher_cpu >= 0.9:
            return "core 1 (publisher + load generator)"
        return "unclear (Redis?)"

    async def drain(self, until: int) -> None:
        """Wait until `until` updates have arrived, or nothing arrives for half a second.

        Bounded by the mode's drain limit. A conflating server never reaches `until`; the
        quiet half second ends its wait.
        """
        deadline = time.monotonic() + self.mode.drain_limit
        last, quiet_since = (await self.fleet.counts()).updates, time.monotonic()
        while last < until and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = (await self.fleet.counts()).updates
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= 0.5:
                return

    async def settle(self) -> None:
        """Pause, then wait (bounded) until the server's RSS holds still: idle memory is read."""
        await asyncio.sleep(self.mode.settle_seconds)
        last = self.server.rss_kib()
        for _ in range(8):
            await asyncio.sleep(0.25)
            now = self.server.rss_kib()
            if abs(now - last) < 256:
                return
            last = now

    async def connect_all(self, pace: float) -> Connected:
        indices = list(range(SOCKETS))
        readers, spare = indices[:SPARE_FROM], indices[SPARE_FROM:]
        # Both at the same pace, one after the other: `pace` sockets/s throughout.
        first = await self.fleet.connect(
            self.port, readers, tag=READERS, pace=pace, batching=self.variant.batching
        )
        second = await self.fleet.connect(
            self.port, spare, tag=SPARE, pace=pace, batching=self.variant.batching
        )
        return Connected(
            ready=first.ready + second.ready,
            failed=first.failed + second.failed,
            seconds=first.seconds + second.seconds,
            failures=first.failures + second.failures,
        )
