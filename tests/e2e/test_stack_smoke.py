"""The real stack, started from the Procfile's own lines: uvicorn, Celery worker, beat, Flower."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, procfile_command, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def procfile_commands() -> dict[str, str]:
    return {name: procfile_command(name) for name in ("web", "worker", "beat", "flower")}


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local test URL
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
