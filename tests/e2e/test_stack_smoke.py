"""The real stack, started from the Procfile's own lines: uvicorn, Celery worker, beat, Flower."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningProcess, free_port, procfile_command, wait_until
from tests.factories import asset_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def procfile_commands() -> dict[str, str]:
    return {name: procfile_command(name) for name in ("web", "worker", "beat", "flower")}


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def test_procfile_stack_serves_admin_login_and_runs_worker_beat_and_flower(
    child_env: dict[str, str], start_process, tmp_path: Path
) -> None:
    from config.celery import app as celery_app

    commands = procfile_commands()
    web_port, flower_port = free_port(), free_port()
    env = {
        **child_env,
        "PORT": str(web_port),
        "FLOWER_PORT": str(flower_port),
        "CELERY_CONCURRENCY": "1",
        "FLOWER_UNAUTHENTICATED_API": "true",
    }
    processes = {name: start_process(name, commands[name], env) for name in commands}

    wait_until(
        lambda: http_status(f"http://127.0.0.1:{web_port}/admin/login/") == 200,
        timeout=30,
        what="uvicorn to answer the admin login page with 200",
    )
    replies = wait_until(
        lambda: celery_app.control.ping(timeout=0.5), timeout=40, what="the worker to answer a ping"
    )
    assert any("worker@" in name for reply in replies for name in reply)
    wait_until(
        lambda: "beat: Starting" in processes["beat"].output(),
        timeout=30,
        what="beat to start with the DatabaseScheduler",
    )
    assert "DatabaseScheduler" in processes["beat"].output()
    wait_until(
        lambda: http_status(f"http://127.0.0.1:{flower_port}/healthcheck") == 200,
        timeout=30,
        what="Flower's health check",
    )
    assert all(process.alive() for process in processes.values())


def flower_task(port: int, task_id: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/api/task/info/{task_id}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return dict(json.loads(response.read()))
    except OSError:
        return {}


def test_flower_shows_each_task_with_its_arguments_and_result(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    from workers.tasks import fetch_price_batch

    asset_create("AAPL")
    flower_port = free_port()
    env = {**child_env, "CELERY_CONCURRENCY": "1", "FLOWER_PORT": str(flower_port),
           "FLOWER_UNAUTHENTICATED_API": "true"}  # fmt: skip
    start_process("worker", procfile_command("worker"), env)
    start_process("flower", procfile_command("flower"), env)
    wait_until(
        lambda: http_status(f"http://127.0.0.1:{flower_port}/healthcheck") == 200,
        timeout=30, what="Flower",
    )  # fmt: skip
    task_id = fetch_price_batch.delay(["AAPL"]).id
    info = wait_until(
        lambda: (task := flower_task(flower_port, task_id)).get("state") == "SUCCESS" and task,
        timeout=60, what="Flower to show the finished task",
    )  # fmt: skip
    assert info["name"] == "workers.tasks.fetch_price_batch"
    assert "AAPL" in info["args"]
    assert "'changed': ['AAPL']" in info["result"]
