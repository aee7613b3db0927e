"""Shared fixtures: free ports, real processes (uvicorn, Celery) against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from config.devstack.redis_local import RedisAddress, redis_answers

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll until predicate returns something truthy; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="session", autouse=True)
def redis_is_up() -> Iterator[None]:
    address = RedisAddress.from_url(settings.REDIS_URL)
    if not redis_answers(address):
        pytest.exit(
            f"Redis does not answer at {address.host}:{address.port}: run the suite with "
            "`make test`, which starts one when needed.",
            returncode=3,
        )
    yield
    redis_prefix_clear()


@pytest.fixture(autouse=True)
def redis_state_isolated() -> Iterator[None]:
    """Each test starts with none of the earlier tests' snapshots, watches, queues or locks."""
    yield
    redis_prefix_clear()


@pytest.fixture(autouse=True)
def refresh_interval_unremembered() -> Iterator[None]:
    """The feed's interval is re-read from the schedule row in every test: a row a rolled-back
    test changed must not live on in this process's few-second memory of it."""
    from apps.market.feed import refresh_interval_forget

    refresh_interval_forget()
    yield
    refresh_interval_forget()


def redis_prefix_clear() -> None:
    """Delete every key this run left under its own prefix (queues, cache, locks, rings)."""
    from config.redis_client import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def child_database_url() -> str:
    """The URL of the test database, for processes the tests start."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def child_env(django_db_setup: None, django_db_blocker: Any) -> dict[str, str]:
    """Environment for real servers and workers: same test database, Redis prefix and key."""
    with django_db_blocker.unblock():
        database_url = child_database_url()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }


class RunningProcess:
    """A child process in its own session, its output in a log file shown on failure."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            command,
            shell=True,  # Procfile lines are shell command lines
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


@pytest.fixture
def start_process(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., RunningProcess]]:
    """Start shell commands from the repository root; all are stopped after the test."""
    started: list[RunningProcess] = []

    def start(name: str, command: str, env: dict[str, str]) -> RunningProcess:
        process = RunningProcess(name, command, env, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    failed = request.node.stash.get(FAILED_KEY, False)
    if failed:
        for process in started:
            sys.stderr.write(f"\n----- {process.name} output -----\n{process.output()[-4000:]}\n")


FAILED_KEY = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED_KEY] = True
    return report


def procfile_command(name: str) -> str:
    from honcho.environ import parse_procfile

    return str(parse_procfile((ROOT / "Procfile").read_text()).processes[name])


@pytest.fixture
def celery_worker_process(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> RunningProcess:
    """The Procfile's worker, one process, ready to take tasks."""
    from config.celery import app

    worker = start_process(
        "worker", procfile_command("worker"), {**child_env, "CELERY_CONCURRENCY": "1"}
    )
    wait_until(lambda: app.control.ping(timeout=0.5), timeout=40, what="the worker to answer")
    return worker


@dataclass
class LiveServer:
    process: RunningProcess
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/realtime/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def web_server_start(
    start_process: Callable[..., RunningProcess], env: dict[str, str], name: str = "web"
) -> LiveServer:
    """The Procfile's web line (uvicorn) on a free port, answering before this returns."""
    port = free_port()
    process = start_process(name, procfile_command("web"), {**env, "PORT": str(port)})

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_until(answers, timeout=30, what=f"uvicorn ({name}) to listen on {port}")
    return LiveServer(process, port)


@pytest.fixture
def web_server(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> LiveServer:
    return web_server_start(start_process, child_env)
