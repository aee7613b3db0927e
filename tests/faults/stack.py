"""The whole stack of a fault test: web, worker and beat from the Procfile, on the test's env.

The processes under test may use a Redis of the test's own, so the test process never
reaches them through its own Celery app or cache: it reads their logs, the broker's keys on
that Redis, and the HTTP endpoints.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis
from django.conf import settings

from tests.conftest import (
    LiveServer,
    RunningProcess,
    procfile_command,
    wait_until,
    web_server_start,
)
from tests.e2e.ws import WsClient

StartProcess = Callable[..., RunningProcess]
T = TypeVar("T")
WORKER_READY = " ready."
BEAT_SENT = "Sending due task Refresh prices"


@dataclass
class Stack:
    web: LiveServer
    worker: RunningProcess
    beat: RunningProcess | None


def worker_start(
    start_process: StartProcess, env: dict[str, str], *, command: str | None = None,
    name: str = "worker",
) -> RunningProcess:  # fmt: skip
    """The Procfile's worker (one pool process), ready to take tasks before this returns."""
    worker = start_process(
        name, command or procfile_command("worker"), {**env, "CELERY_CONCURRENCY": "1"}
    )
    wait_until(lambda: WORKER_READY in worker.output(), timeout=40, what=f"{name} to be ready")
    return worker


def stack_start(
    start_process: StartProcess, env: dict[str, str], *, beat: bool = True,
    worker_command: str | None = None,
) -> Stack:  # fmt: skip
    """uvicorn, a Celery worker and (with `beat`) beat, all on `env`."""
    web = web_server_start(start_process, env)
    worker = worker_start(start_process, env, command=worker_command)
    ticker = start_process("beat", procfile_command("beat"), env) if beat else None
    return Stack(web, worker, ticker)


def http_json(url: str, timeout: float = 5) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a GET; a status >= 400 is an answer too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return int(error.code), dict(json.loads(error.read() or b"{}"))


def http_json_or_none(url: str) -> tuple[int, dict[str, Any]] | None:
    """As http_json, None while the server does not answer at all."""
    try:
        return http_json(url)
    except (OSError, ValueError):
        return None


def status_global(server: LiveServer) -> dict[str, Any] | None:
    reply = http_json_or_none(f"{server.http_url}/realtime/status/")
    return reply[1].get("global_stats") if reply and reply[0] == 200 else None


def broker_backlog(redis_url: str) -> int:
    """Messages waiting in the broker's default queue plus those delivered and not acked."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    prefix = f"{settings.REDIS_KEY_PREFIX}:celery:"
    try:
        return int(client.llen(f"{prefix}celery")) + int(client.hlen(f"{prefix}unacked"))
    finally:
        client.close()


@dataclass
class Listener:
    """One socket that records every message it receives, with the time it came."""

    client: WsClient
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    closed_code: int | None = None
    task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> Listener:
        listener = cls(await WsClient.open(url))
        listener.task = asyncio.ensure_future(listener._read())
        return listener

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.client.connection:
                self.received.append((time.monotonic(), json.loads(raw)))
        except websockets.ConnectionClosed:
            pass
        self.closed_code = (
            self.client.connection.close_code if self.client.connection.close_code else 1006
        )

    def of_type(self, message_type: str, since: float = 0.0) -> list[dict[str, Any]]:
        return [m for at, m in self.received if at >= since and m["type"] == message_type]

    def first_at(self, message_type: str, since: float) -> float | None:
        return next(
            (at for at, m in self.received if at >= since and m["type"] == message_type), None
        )

    async def close(self) -> None:
        await self.client.close()
        if self.task is not None:
            await asyncio.wait([self.task], timeout=5)


async def orm(call: Callable[[], T]) -> T:
    """Run ORM code from a test's event loop: in a thread, its connection closed after."""
    from django.db import connection

    def closing() -> T:
        try:
            return call()
        finally:
            connection.close()

    return await asyncio.to_thread(closing)


async def poll(predicate: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """wait_until for coroutines: a bounded poll that lets the event loop run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
