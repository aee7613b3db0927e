"""The realtime HTTP endpoints through the real uvicorn: behind a proxy, with Redis down."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import LiveServer, RunningProcess, free_port, web_server_start

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return error.code, dict(json.loads(error.read()))


def test_websocket_info_says_wss_behind_a_tls_proxy(web_server: LiveServer) -> None:
    status, body = get_json(
        f"{web_server.http_url}/realtime/websocket-info/",
        {"X-Forwarded-Proto": "https", "Host": "localhost"},
    )
    assert status == 200
    assert body["websocket_url"] == "wss://localhost/ws/realtime/"


def test_health_names_redis_when_it_is_down(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    server = web_server_start(start_process, {**child_env, "REDIS_URL": dead_redis})
    status, body = get_json(f"{server.http_url}/realtime/health/?check=web")
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["redis"] == "redis: unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["active_connections"] is None
