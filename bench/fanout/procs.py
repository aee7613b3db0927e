"""Child processes: started in their own process group, pinned when asked, always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, TextIO

from bench.fanout.common import ROOT

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proc_status_kib(pid: int, key: str) -> int:
    """A `kB` line of /proc/PID/status (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _CLOCK_TICKS


def redis_server_pid(port: int) -> int | None:
    """The redis-server serving `port` on this machine, to account for its CPU."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"redis-server" in cmdline and f":{port}".encode() in cmdline:
                return int(entry.name)
    return None


class Child:
    """A process of the bench: its output goes to a log file, or is read as JSON lines."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self._log: TextIO | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(
        self, argv: list[str], env: dict[str, str], *, cpu: int | None, talk: bool
    ) -> None:
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu), *argv]
        self._log = self.log_path.open("a")
        self._log.write(f"$ {' '.join(argv)}\n")
        self._log.flush()
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE if talk else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if talk else self._log,
            stderr=self._log,
            start_new_session=True,
            limit=2**24,
        )

    async def line(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError(f"{self.name} exited; see {self.log_path}")
        result: dict[str, Any] = json.loads(raw)
        return result

    async def request(self, command: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        return await self.line(timeout)

    def rss_kib(self) -> int:
        return proc_status_kib(self.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        return proc_status_kib(self.pid, "VmHWM")

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait_port(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {port} in {timeout:.0f} s")

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to the process group, SIGKILL after `grace` seconds."""
        if self.proc is not None and self.proc.returncode is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
                try:
                    await asyncio.wait_for(self.proc.wait(), wait)
                    break
                except TimeoutError:
                    continue
        if self._log is not None:
            self._log.close()
            self._log = None


class RssWatch:
    """Samples a process's RSS every quarter second; peak since the last `reset`."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    def reset(self) -> None:
        self.peak = self.child.rss_kib()

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.child.rss_kib())
            await asyncio.sleep(0.25)

    def start(self) -> None:
        self.reset()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
