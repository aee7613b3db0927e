"""The phases of a variant's run, and the textbook's connection burst."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from bench.fanout.common import (
    FILLER_SYMBOLS,
    SOCKETS,
    Histogram,
    hist_count,
    hist_merge,
    hist_percentile_ms,
)
from bench.fanout.fleet import Connected, Fleet
from bench.fanout.scenario import (
    NEVER_READ,
    READERS,
    SPARE,
    SPARE_FROM,
    WARMUP,
    Mode,
    NeverReaders,
    Result,
    Run,
    Step,
    Variant,
    server_argv,
)
from bench.stopwatch import Stopwatch


def send_queue_summary(port: int) -> str:
    """Server-side kernel send queues (bytes) of its sockets, from `ss`."""
    try:
        out = subprocess.run(
            ["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "ss unavailable"
    queues = [int(line.split()[1]) for line in out.splitlines() if line.split()]
    stuck = [q for q in queues if q > 0]
    total = sum(stuck)
    return f"{len(stuck)} of {len(queues)} server sockets hold unsent data ({total // 1024} KiB)"


def lat_summary(hists: dict[str, dict[int, Histogram]], label: str, tags: set[int]) -> Histogram:
    return hist_merge(h for tag, h in hists.get(label, {}).items() if tag in tags)


async def run_variant(variant: Variant, mode: Mode, fleet: Fleet, log_dir: Path) -> Result:
    run = Run(variant, mode, fleet, log_dir)
    watch = Stopwatch()  # where a run's time goes, printed with it (quick mode's budget)
    began = time.monotonic()
    async with run.processes():
        watch.seconds["start"] = time.monotonic() - began
        with watch.stage("connect"):
            result = await connect_phase(run)
        with watch.stage("latency"):
            step = await latency_phase(run, result)
        if variant.never_readers and not step.saturated:
            with watch.stage("never-readers"):
                result.never = await never_readers(run)
        with watch.stage("ladder"):
            await ladder_phase(run, result)
        counts = await fleet.counts()
        if counts.close_codes:
            result.notes.append(f"close codes seen by clients: {counts.close_codes}")
        result.peak_rss_kib = run.server.peak_rss_kib()
        await fleet.close(READERS)
        await fleet.close(SPARE)
        stopping = time.monotonic()
    watch.seconds["stop"] = time.monotonic() - stopping
    result.phase_seconds = dict(watch.seconds)
    return result


async def connect_phase(run: Run) -> Result:
    """Warm up, then connect every socket; the idle memory per socket comes from here."""
    variant, fleet = run.variant, run.fleet
    command = " ".join(server_argv(variant.server, run.port))
    # Warm up (imports, the hub, caches), so the baseline holds what any first socket costs.
    await fleet.connect(run.port, list(range(10)), tag=WARMUP, pace=variant.pace)
    await fleet.close(WARMUP)
    await run.settle()
    rss_before = run.server.rss_kib()
    connected = await run.connect_all(variant.pace)
    result = Result(variant, command, connected, rss_before_kib=rss_before)
    if connected.failed:
        result.notes.append(f"{connected.failed} sockets failed to connect or subscribe")
    await run.settle()
    result.rss_idle_kib = run.server.rss_kib()
    run.readers = connected.ready
    return result


async def latency_phase(run: Run, result: Result) -> Step:
    """1 tick/s: latency over three equal slices of time (does it grow?), and the first step."""
    labels = ["lat.0", "lat.1", "lat.2"]
    step, hists = await run.ticks(1.0, run.mode.lat_seconds, labels)
    for label in labels:
        hist = lat_summary(hists, label, {READERS, SPARE})
        result.lat_thirds.append(
            (hist_percentile_ms(hist, 0.5), hist_percentile_ms(hist, 0.99), hist_count(hist))
        )
    result.lat_all = hist_merge(lat_summary(hists, label, {READERS, SPARE}) for label in labels)
    result.steps.append(step)
    return step


async def ladder_phase(run: Run, result: Result) -> None:
    """Up the ladder until saturated, and (full mode) one step further.

    Overloaded servers write in bigger chunks, so the most delivered is often one step past
    the first saturated one.
    """
    beyond = 0 if run.mode.quick else 1
    for rate in run.mode.rates:
        saturated = [s for s in result.steps if s.saturated]
        if len(saturated) > beyond or (saturated and len(saturated) == len(result.steps)):
            break
        step, _ = await run.ticks(rate, run.mode.step_seconds, [f"step{rate}"], sample=8)
        result.steps.append(step)


async def never_readers(run: Run) -> NeverReaders:
    """Readers' latency and server memory without, then with, 10% of sockets never reading.

    On loopback the kernel lets a socket's send buffer grow to 4 MiB (tcp_wmem), so ordinary
    ticks would take minutes to fill a never-reader's buffers and reach the hub's conflation.
    So the never-readers also watch 20 filler symbols nobody else watches, and are sent 16
    ticks of filler frames padded to 16 KiB: over 5 MiB each, more than the kernel and
    uvicorn's transport buffer hold. One last unpadded filler tick leaves small frames pending.
    The 900 readers stay connected throughout and are measured in both halves.
    """
    mode, fleet = run.mode, run.fleet
    spare = list(range(SPARE_FROM, SOCKETS))

    async def half(label: str) -> tuple[Histogram, int, int, int]:
        run.rss.reset()
        job = asyncio.ensure_future(run.ticks(1.0, mode.nr_seconds, [label]))
        await asyncio.sleep(mode.nr_seconds / 2)
        mid = run.server.rss_kib()
        _step, hists = await job
        return lat_summary(hists, label, {READERS}), mid, run.server.rss_kib(), run.rss.peak

    without, _mid, rss_without, _peak = await half("nr.without")
    await fleet.close(SPARE)
    run.readers = SPARE_FROM
    await fleet.connect(
        run.port,
        spare,
        tag=NEVER_READ,
        never_read=True,
        extra_symbols=FILLER_SYMBOLS,
        pace=run.variant.pace,
    )
    fill = {"op": "run", "rate": mode.fill_rate, "seconds": 16 / mode.fill_rate}
    await run.publisher.request(fill | {"pad": 16384, "filler": True}, 120)
    await run.publisher.request({"op": "run", "rate": 1, "seconds": 0.01, "filler": True}, 60)
    await run.settle()
    with_, mid, rss_with, peak = await half("nr.with")
    queues = send_queue_summary(run.port)
    await fleet.close(NEVER_READ)
    await fleet.connect(run.port, spare, tag=SPARE, pace=run.variant.pace)
    run.readers = SOCKETS
    return NeverReaders(
        p99_without=hist_percentile_ms(without, 0.99),
        p99_with=hist_percentile_ms(with_, 0.99),
        p50_without=hist_percentile_ms(without, 0.5),
        p50_with=hist_percentile_ms(with_, 0.5),
        rss_without_kib=rss_without,
        rss_with_kib=rss_with,
        rss_with_mid_kib=mid,
        peak_with_kib=peak,
        send_queue=queues,
    )


async def textbook_burst(mode: Mode, fleet: Fleet, log_dir: Path) -> tuple[Connected, str]:
    """1,000 textbook sockets connecting and subscribing at once: what happens."""
    variant = Variant("textbook-burst", "textbook", "textbook")
    run = Run(variant, mode, fleet, log_dir)
    async with run.processes():
        connected = await fleet.connect(run.port, list(range(SOCKETS)), tag=READERS, timeout=30)
        await asyncio.sleep(1.0)
        await fleet.close(READERS)
    log = run.server.log_path.read_text(errors="replace")
    found = log.count("MaxConnectionsError")
    text = f"{found} MaxConnectionsError in the server log" if found else "no MaxConnectionsError"
    return connected, text
