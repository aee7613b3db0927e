"""/realtime/status/ throttling through the real uvicorn: whose X-Forwarded-For counts.

uvicorn believes the header only from FORWARDED_ALLOW_IPS and puts the client's address in
REMOTE_ADDR; the throttle keys on that alone, so a client cannot name its own bucket.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.conftest import LiveServer, RunningProcess, web_server_start

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def status_code(server: LiveServer, forwarded_for: str) -> int:
    request = urllib.request.Request(
        f"{server.http_url}/realtime/status/", headers={"X-Forwarded-For": forwarded_for}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def server_with(
    start_process: Callable[..., RunningProcess], child_env: dict[str, str], trusted: str
) -> LiveServer:
    env = {**child_env, "FORWARDED_ALLOW_IPS": trusted, "STATUS_ANON_RATE": "3/min"}
    return web_server_start(start_process, env)


def test_a_forged_forwarded_for_does_not_escape_the_throttle(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    server = server_with(start_process, child_env, trusted="192.0.2.1")  # not this client
    codes = [status_code(server, f"203.0.113.{n}") for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_allowance(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    server = server_with(start_process, child_env, trusted="127.0.0.1")  # the proxy is us
    codes = [status_code(server, "203.0.113.1") for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert status_code(server, "203.0.113.2") == 200
