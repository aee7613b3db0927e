"""Where the time and the memory of a variant go: the evidence behind a missed target.

    python -m bench.fanout.profile cpu [ours|ours-batched|bare|textbook] [--rate 4] [--seconds 15]
    python -m bench.fanout.profile memory

cpu: 1,000 sockets, ticks at --rate, and py-spy (if installed) samples the server; prints the
functions with the most samples, on their own (self) and with what they call (inclusive).
memory: the project server under tracemalloc; what 1,000 idle subscribed sockets allocate,
by source line, against the RSS they add.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from bench.fanout.cli import prepare, redis_forget
from bench.fanout.common import PYTHON, SOCKETS, server_env
from bench.fanout.fleet import Fleet
from bench.fanout.scenario import WARMUP, Mode, Run, Variant

MODE = Mode(
    quick=True,
    pin=False,
    workers=2,
    lat_seconds=0,
    step_seconds=0,
    rates=(),
    nr_seconds=0,
    textbook_pace=100,
    drain_limit=10,
)
VARIANTS = {
    "ours": Variant("ours", "project", "project"),
    "ours-batched": Variant("ours-batched", "project", "project", batching=True),
    "bare": Variant("bare", "bare", "bare"),
    "textbook": Variant("textbook", "textbook", "textbook", pace=100),
}
_FRAME = re.compile(r"^(?P<name>[^ ]+) \((?P<file>[^:]+):\d+\)$")


def frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    short = path.split("site-packages/")[-1] if "site-packages/" in path else path
    return f"{match['name']} ({short.removeprefix(str(Path.cwd()) + '/')})"


def summarize(raw: str, top: int = 22) -> None:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f]
        total += count
        if frames:
            own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    print(f"{total} samples")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"\ntop {top} by {title} samples:")
        for name, count in counter.most_common(top):
            print(f"  {100 * count / total:5.1f}%  {name}")


async def cpu(variant: Variant, rate: float, seconds: float, log_dir: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed (.venv/bin/pip install py-spy)")
    fleet = Fleet(MODE.workers, log_dir)
    try:
        await fleet.start(server_env(), cpu=None)
        run = Run(variant, MODE, fleet, log_dir)
        async with run.processes():
            connected = await run.connect_all(variant.pace)
            run.readers = connected.ready
            print(f"{variant.name}: {connected.ready} sockets; ticks at {rate}/s, sampling ...")
            job = asyncio.ensure_future(run.ticks(rate, seconds + 4, []))
            await asyncio.sleep(2)
            out = log_dir / "profile.txt"
            spy_argv = [
                spy,
                "record",
                "-p",
                str(run.server.pid),
                "-d",
                str(int(seconds)),
                "-r",
                "250",
                "-f",
                "raw",
                "-o",
                str(out),
                "--nonblocking",
            ]
            proc = await asyncio.create_subprocess_exec(
                *spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            await proc.wait()
            step, _ = await job
            print(
                f"delivered {step.delivered:,.0f} updates/s, "
                f"server CPU {100 * step.server_cpu:.0f}%, others' CPU {100 * step.others_cpu:.0f}%"
            )
            summarize(out.read_text())
    finally:
        await fleet.stop()


async def memory(log_dir: Path) -> None:
    trace_out = log_dir / "trace.json"
    os.environ["TRACE_OUT"] = str(trace_out)
    fleet = Fleet(MODE.workers, log_dir)
    try:
        await fleet.start(server_env(), cpu=None)
        run = Run(Variant("ours-traced", "traced", "project"), MODE, fleet, log_dir)
        async with run.processes():
            await fleet.connect(run.port, list(range(10)), tag=WARMUP)
            await fleet.close(WARMUP)
            await asyncio.sleep(1.5)
            os.kill(run.server.pid, signal.SIGUSR1)
            await asyncio.sleep(2)
            rss_before = run.server.rss_kib()
            connected = await run.connect_all(0)
            await asyncio.sleep(2)
            rss_after = run.server.rss_kib()
            os.kill(run.server.pid, signal.SIGUSR1)
            for _ in range(120):
                await asyncio.sleep(0.5)
                if trace_out.exists():
                    break
            await asyncio.sleep(0.5)
            report = json.loads(trace_out.read_text())
    finally:
        await fleet.stop()
    per = SOCKETS * 1024
    print(
        f"{connected.ready} sockets: RSS +{(rss_after - rss_before) / SOCKETS:.1f} KiB per socket "
        f"(under tracemalloc), Python allocations +{report['total'] / per:.1f} KiB per socket"
    )
    for title in ("files", "lines"):
        print(f"\nlargest growth by {title} (KiB per socket, allocations per socket):")
        for where, size, count in report[title][:20]:
            short = where.split("site-packages/")[-1]
            print(f"  {size / per:6.2f}  {count / SOCKETS:6.1f}  {short}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout.profile")
    parser.add_argument("what", choices=["cpu", "memory"])
    parser.add_argument("variant", nargs="?", default="ours", choices=sorted(VARIANTS))
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="fanout-profile-"))
    redis_forget()
    prepare()
    try:
        if args.what == "cpu":
            asyncio.run(cpu(VARIANTS[args.variant], args.rate, args.seconds, log_dir))
        else:
            asyncio.run(memory(log_dir))
    finally:
        redis_forget()
    print(f"(logs in {log_dir})")


if __name__ == "__main__":
    main()
