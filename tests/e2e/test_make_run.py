"""`make run`'s launcher as a user meets it: Redis started when missing, demo seeded, every
process up, the URLs printed, and Ctrl-C stopping everything it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from config.devstack.redis_local import RedisAddress, redis_answers
from tests.conftest import ROOT, free_port, wait_until
from tests.e2e.test_stack_smoke import http_status

pytestmark = pytest.mark.stack

TEST_ONLY_VARIABLES = ("DJANGO_SETTINGS_MODULE", "REDIS_KEY_PREFIX", "DATABASE_URL")


def flower_workers(port: int) -> dict[str, object]:
    url = f"http://127.0.0.1:{port}/api/workers?refresh=1"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return dict(json.loads(response.read()))
    except OSError:
        return {}


def test_launcher_runs_the_whole_stack_and_ctrl_c_stops_all_of_it(tmp_path: Path) -> None:
    web_port, flower_port, redis_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
    env |= {
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FLOWER_PORT": str(flower_port),
        "CELERY_CONCURRENCY": "1",
    }
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "config.devstack", "run", "--port", str(web_port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(
                lambda: "Dashboard:" in log_path.read_text(), timeout=90, what="the URL banner"
            )
            output = log_path.read_text()
            assert f"nothing answers on port {redis_port}; starting" in output
            assert "Demo login: demo / demo-portfolio" in output
            assert f"http://127.0.0.1:{web_port}/" in output
            assert http_status(f"http://127.0.0.1:{web_port}/admin/login/") == 200
            workers = wait_until(
                lambda: flower_workers(flower_port), timeout=60, what="Flower to list the worker"
            )
            assert any(name.startswith("worker@") for name in workers)

            launcher.send_signal(signal.SIGINT)
            assert launcher.wait(timeout=60) == 0
        finally:
            if launcher.poll() is None:
                os.killpg(launcher.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert "Stopping the Redis started for this run" in output
    assert http_status(f"http://127.0.0.1:{web_port}/admin/login/") is None
    assert http_status(f"http://127.0.0.1:{flower_port}/healthcheck") is None
    assert not redis_answers(RedisAddress("127.0.0.1", redis_port))
