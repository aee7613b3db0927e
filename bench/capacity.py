"""Capacity: how many idle subscribed sockets one server process holds, and what each costs.

    python -m bench.capacity [--sockets 20000] [--symbols-per-socket 20] [--clients 2]
                             [--rate 150] [--quick]

One uvicorn process of the project, started from the Procfile's web line as the fan-out bench
starts it (bench/fanout), with a database and a Redis prefix of its own (`portfolio_capacity`,
`pfcapacity`), so it never meets another bench's keys or ticks. The sockets come from
`--clients` load generator processes (bench/fanout/loadgen.py) connecting at a steady `--rate`
(sockets/s in all), each subscribing to its symbols and waiting for every ack. Then it
reports the sockets held, the connect rate, the failures, the server's RSS before and after
(KiB per socket), and whether one published tick still reaches them all.

File descriptors: the server holds one per socket, so this process raises its own
RLIMIT_NOFILE (the children inherit it) to the sockets plus 4,096 before starting anything.
Raising the hard limit needs CAP_SYS_RESOURCE, which this sandbox lacks although it runs as
root: here the ceiling is its hard limit of 20,000, so a 20,000-socket run holds about 19,960
(the server's other descriptors take the rest) and says so. Ephemeral ports
(net.ipv4.ip_local_port_range) bound the sockets one client address can open to one server
port; the run says when it would pass them. --quick: 2,000 sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.fanout.common import PYTHON, REDIS_URL, ROOT, WS_PATH, all_symbols, server_env
from bench.fanout.fleet import Fleet
from bench.fanout.procs import Child, free_port
from bench.fanout.scenario import server_argv
from bench.results import results_write

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portfolio_capacity"
REDIS_PREFIX = "pfcapacity"
QUICK_SOCKETS = 2_000
SPARE_FDS = 4_096  # listening socket, database, Redis, log files, the event loop's own
MEASURED, WARMUP = 0, 9  # socket tags


def capacity_env() -> dict[str, str]:
    return server_env() | {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_KEY_PREFIX": REDIS_PREFIX,
        "REALTIME_CACHE_TIMEOUT": "86400",  # the snapshots prepare stores outlive the run
    }


def fd_limit_raise(sockets: int) -> dict[str, int]:
    """Raise this process's (and so its children's) open-file limit to fit the sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = sockets + SPARE_FDS
    if soft < want:
        ceiling = int(Path("/proc/sys/fs/nr_open").read_text())
        new = min(want, ceiling)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, max(new, hard)))
        except (ValueError, OSError):  # not root: as far as the hard limit goes
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft_now, hard_now = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {"before": soft, "after": soft_now, "hard": hard_now}


def machine_limits() -> dict[str, Any]:
    def read(name: str) -> str:
        try:
            return Path("/proc/sys", name).read_text().strip()
        except OSError:
            return "?"

    low, high = (int(part) for part in read("net/ipv4/ip_local_port_range").split())
    return {
        "somaxconn": read("net/core/somaxconn"),
        "ephemeral_ports": high - low + 1,
        "tcp_max_syn_backlog": read("net/ipv4/tcp_max_syn_backlog"),
    }


def listen_drops() -> dict[str, int]:
    """The kernel's count of connections dropped at a full accept queue (machine-wide)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    names, values = lines[0].split(), lines[1].split()  # the TcpExt header and its values
    row = dict(zip(names, values, strict=True))
    return {key: int(row.get(key, 0)) for key in ("ListenOverflows", "ListenDrops")}


def redis_forget() -> None:
    """Delete this bench's own keys (its prefix only)."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def prepare() -> None:
    subprocess.run(
        [PYTHON, "-m", "bench.fanout.prepare"],
        cwd=ROOT,
        env=capacity_env(),
        check=True,
        timeout=300,
    )


def socket_symbols(index: int, per_socket: int) -> list[str]:
    """Socket i watches `per_socket` consecutive symbols of the 500, from i * per_socket."""
    symbols = all_symbols()
    start = index * per_socket
    return [symbols[(start + k) % len(symbols)] for k in range(per_socket)]


async def connect(
    fleet: Fleet, port: int, indices: range, *, per_socket: int, rate: float, tag: int
) -> dict[str, Any]:
    """Open the sockets `indices` spread over the clients, `rate` sockets/s in all."""
    size = len(fleet.children)
    timeout = 120.0

    async def share(child: Child, mine: list[int]) -> dict[str, Any]:
        command = {
            "op": "connect",
            "host": "127.0.0.1",
            "port": port,
            "path": WS_PATH,
            "sockets": [socket_symbols(i, per_socket) for i in mine],
            "tag": tag,
            "pace": rate / size,
            "timeout": timeout,
        }
        return await child.request(command, timeout=timeout + len(mine) * size / rate + 60)

    started = time.monotonic()
    replies = await asyncio.gather(
        *(share(child, list(indices[n::size])) for n, child in enumerate(fleet.children))
    )
    kinds: dict[str, int] = {}
    for reply in replies:
        for failure in reply["failures"]:
            kind = failure.split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "ready": sum(r["ready"] for r in replies),
        "failed": sum(r["failed"] for r in replies),
        "seconds": time.monotonic() - started,
        "failure_samples": kinds,  # the kinds among the first 5 failures of each client
    }


async def rss_settled(server: Child, seconds: float = 6.0) -> int:
    """The server's RSS once it is idle: the median of samples over `seconds` (a registry
    heartbeat passing through briefly raises it)."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(server.rss_kib())
        await asyncio.sleep(0.25)
    return int(statistics.median(samples))


async def tick_reaches(fleet: Fleet, publisher: Child, expected: int) -> dict[str, Any]:
    """Publish one full tick (every symbol) and count the updates the sockets receive."""
    before = (await fleet.counts()).updates
    began = time.monotonic()
    published = await publisher.request({"op": "run", "rate": 1, "seconds": 1})
    got, quiet_since = 0, time.monotonic()
    while time.monotonic() - began < 120:
        await asyncio.sleep(0.2)
        now = (await fleet.counts()).updates - before
        if now != got:
            got, quiet_since = now, time.monotonic()
        if got >= expected * published["ticks"] or time.monotonic() - quiet_since > 3:
            break
    return {
        "ticks": published["ticks"],
        "updates_expected": expected * published["ticks"],
        "updates_received": got,
        "seconds_to_last": quiet_since - began,
    }


async def run(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    env = capacity_env()
    fleet = Fleet(args.clients, log_dir)
    server = Child("capacity-server", log_dir)
    publisher = Child("capacity-publisher", log_dir)
    port = free_port()
    try:
        await fleet.start(env, cpu=None)
        await server.start(server_argv("project", port), env, cpu=None, talk=False)
        await publisher.start([PYTHON, "-m", "bench.fanout.publisher", "project"], env,
                              cpu=None, talk=True)  # fmt: skip
        await server.wait_port(port)
        await publisher.line(timeout=60)
        # Code paths loaded, the hub joined, caches filled: then the baseline.
        await connect(fleet, port, range(10), per_socket=args.symbols_per_socket, rate=50,
                      tag=WARMUP)  # fmt: skip
        await fleet.close(WARMUP)
        closed_before = (await fleet.counts()).closed
        drops_before = listen_drops()
        rss_before = await rss_settled(server, 3.0)
        print(f"server RSS {rss_before / 1024:.0f} MiB; connecting {args.sockets:,} sockets "
              f"at {args.rate:g}/s from {args.clients} clients ...", flush=True)  # fmt: skip
        held = await connect(
            fleet, port, range(args.sockets), per_socket=args.symbols_per_socket,
            rate=args.rate, tag=MEASURED,
        )  # fmt: skip
        print(f"{held['ready']:,} sockets in {held['seconds']:.0f} s; waiting for an idle server",
              flush=True)  # fmt: skip
        drops = {k: v - drops_before[k] for k, v in listen_drops().items()}
        rss_after = await rss_settled(server)
        counts = await fleet.counts()
        tick = await tick_reaches(fleet, publisher, held["ready"] * args.symbols_per_socket)
        return {
            "sockets_asked": args.sockets,
            "symbols_per_socket": args.symbols_per_socket,
            "clients": args.clients,
            "pace_asked": args.rate,
            # Each held socket gets one update per symbol of a tick.
            "sockets_held": tick["updates_received"] // tick["ticks"] // args.symbols_per_socket
            if tick["ticks"]
            else None,
            "sockets_ready": held["ready"],
            "connect_seconds": held["seconds"],
            "connect_rate": held["ready"] / held["seconds"] if held["seconds"] else None,
            "failed": held["failed"],
            "failure_kinds_sampled": held["failure_samples"],
            "closed_after_open": counts.closed - closed_before,
            "accept_queue_drops": drops,  # the whole machine's, while connecting
            "close_codes": counts.close_codes,
            "errors_sampled": counts.errors,
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "rss_peak_kib": server.peak_rss_kib(),
            "kib_per_socket": (rss_after - rss_before) / held["ready"] if held["ready"] else None,
            "tick": tick,
        }
    finally:
        await publisher.stop(1.0)
        await fleet.stop()
        await server.stop(5.0)


def report(figures: dict[str, Any]) -> None:
    tick = figures["tick"]
    print(
        f"\nsockets held: {figures['sockets_held']:,} of {figures['sockets_asked']:,} "
        f"({figures['symbols_per_socket']} symbols each, {figures['clients']} client processes)\n"
        f"connect rate: {figures['connect_rate']:.0f} sockets/s "
        f"(asked {figures['pace_asked']:g}/s; {figures['connect_seconds']:.0f} s)\n"
        f"failures: {figures['failed']} at connect {figures['failure_kinds_sampled'] or ''}, "
        f"{figures['closed_after_open']} closed after "
        f"{figures['close_codes'] or ''} {figures['errors_sampled'] or ''}; "
        f"accept queue drops (machine): {figures['accept_queue_drops']}\n"
        f"server RSS: {figures['rss_before_kib'] / 1024:.0f} MiB before, "
        f"{figures['rss_after_kib'] / 1024:.0f} MiB after "
        f"(peak {figures['rss_peak_kib'] / 1024:.0f} MiB): "
        f"{figures['kib_per_socket']:.1f} KiB per socket\n"
        f"one tick: {tick['updates_received']:,} of {tick['updates_expected']:,} updates "
        f"arrived, the last {tick['seconds_to_last']:.1f} s after publishing"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity")
    parser.add_argument("--sockets", type=int, default=20_000)
    parser.add_argument("--symbols-per-socket", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2, choices=range(1, 9))
    # Seen here (2 busy cores): the server admits about 180 sockets/s with 20 subscriptions
    # each; asked for 300/s, the accept queue overflowed and 5% of the sockets failed.
    parser.add_argument("--rate", type=float, default=150.0, help="sockets/s, all clients")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SOCKETS:,} sockets")
    args = parser.parse_args()
    if args.quick:
        args.sockets = QUICK_SOCKETS
    limits = {"nofile": fd_limit_raise(args.sockets), **machine_limits()}
    print(f"limits: {limits}")
    if args.sockets > limits["ephemeral_ports"]:
        raise SystemExit(
            f"{args.sockets:,} sockets from one address to one port need more than the "
            f"{limits['ephemeral_ports']:,} ephemeral ports of net.ipv4.ip_local_port_range"
        )
    log_dir = Path(tempfile.mkdtemp(prefix="capacity-"))
    redis_forget()
    prepare()
    try:
        figures = asyncio.run(run(args, log_dir))
    finally:
        redis_forget()
    figures["limits"] = limits
    report(figures)
    path = results_write("capacity", figures, mode="quick" if args.quick else "full")
    print(f"(figures in {path.relative_to(ROOT)}, logs in {log_dir})")


if __name__ == "__main__":
    main()
