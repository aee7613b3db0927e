"""Two uvicorn processes behind the shipped nginx site (deploy/nginx), run for real.

The site file is used as shipped, with only what a test must change: its upstream servers,
its listen port and its certificate (a self-signed one made here). Then one process is
killed: its sockets leave the registry and their clients reconnect to the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import websockets

from apps.realtime.registry import live_connection_ids
from apps.streams.frames import frame_encode
from apps.streams.groups import asset_group
from apps.streams.publish import frames_publish_rollback_unsafe
from config.redis_client import redis_client, redis_key
from tests.conftest import ROOT, LiveServer, RunningProcess, free_port, wait_until, web_server_start
from tests.factories import asset_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx" / "portfolio.conf"
CONNECTION_TTL = 6  # seconds; production's 60 works the same, ten times slower


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def site_for_test(upstream_ports: list[int], port: int, cert: Path, key: Path) -> str:
    """The shipped site with test ports and certificate; every proxy setting unchanged."""
    site = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in upstream_ports)
    upstream = re.search(r"upstream portfolio_app \{.*?\}", site, flags=re.S)
    assert upstream, "deploy/nginx/portfolio.conf has no `upstream portfolio_app` block"
    block = re.sub(r"\n\s*#?\s*server 127\.0\.0\.1:\d+;", "", upstream.group())
    site = site.replace(upstream.group(), block.replace("{", "{\n" + servers, 1))
    # Drop the port-80 block that only redirects to https.
    site = re.sub(r"server \{\n\s*listen 80;.*?return 301[^\n]*\n\}\n", "", site, flags=re.S)
    site = re.sub(r"listen 443 ssl[^;]*;", f"listen 127.0.0.1:{port} ssl;", site)
    site = re.sub(r"\n\s*listen \[::\]:443[^;]*;", "", site)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    return re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)


def nginx_config(folder: Path, site: str) -> Path:
    temp = folder / "temp"
    temp.mkdir()
    config = folder / "nginx.conf"
    config.write_text(
        f"user root;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log {folder}/access.log;\n"
        + "".join(f"  {kind}_temp_path {temp}/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"{site}\n}}\n"
    )  # fmt: skip
    return config


def tls_client() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def started_by(process: RunningProcess, pid: int) -> bool:
    """The pid is the process's shell or its child (the Procfile line runs under a shell)."""
    if pid == process.popen.pid:
        return True
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1]) == process.popen.pid


def process_of(connection_id: str) -> str | None:
    value = redis_client().hget(redis_key("conn", connection_id), "process")
    return str(value) if value else None


async def open_subscribed(url: str) -> tuple[websockets.ClientConnection, str, dict]:
    """A socket through nginx, subscribed to AAPL: (socket, connection id, snapshot)."""
    socket = await websockets.connect(url, ssl=tls_client())
    hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
    await socket.send(json.dumps({"type": "subscribe_asset", "data": {"symbol": "AAPL"}}))
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] == "asset_update":
            return socket, hello["data"]["connection_id"], message


def publish_aapl(price: float) -> None:
    data = {"symbol": "AAPL", "price": price, "change": 0, "change_percent": 0,
            "volume": 1, "high": price, "low": price}  # fmt: skip
    frames_publish_rollback_unsafe([(asset_group("AAPL"), frame_encode("asset_update", data))])


@pytest.fixture
def stack(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess], tmp_path: Path
) -> tuple[LiveServer, LiveServer, int]:
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed: `apt-get install nginx` (as .ci/run does)")
    env = {**child_env, "REALTIME_CONNECTION_TTL": str(CONNECTION_TTL)}
    first = web_server_start(start_process, env, name="web-a")
    second = web_server_start(start_process, env, name="web-b")
    port = free_port()
    cert, key = self_signed_certificate(tmp_path)
    config = nginx_config(tmp_path, site_for_test([first.port, second.port], port, cert, key))
    start_process("nginx", f"exec {NGINX} -p {tmp_path} -c {config} -g 'daemon off;'", env)
    wait_until(lambda: (tmp_path / "nginx.pid").exists(), timeout=20, what="nginx to start")
    return first, second, port


def test_sockets_through_nginx_fail_over_when_one_process_dies(
    stack: tuple[LiveServer, LiveServer, int],
) -> None:
    first, _second, port = stack
    asset_create("AAPL")
    publish_aapl(100.0)  # the snapshot every new subscriber starts from
    base = f"https://127.0.0.1:{port}"

    # websocket-info through the proxy: X-Forwarded-Proto says https, so the URL is wss://.
    request = urllib.request.urlopen(f"{base}/realtime/websocket-info/", context=tls_client())
    info = json.loads(request.read())
    assert info["websocket_url"] == f"wss://127.0.0.1:{port}/ws/realtime/"

    async def scenario() -> None:
        url = f"wss://127.0.0.1:{port}/ws/realtime/"
        opened = [await open_subscribed(url) for _ in range(8)]
        processes = {cid: process_of(cid) for _, cid, _ in opened}
        pids = {process.rsplit(":", 1)[1] for process in processes.values() if process}
        assert len(pids) == 2, processes  # nginx spread them over both processes

        # A tick reaches the sockets of both processes.
        await asyncio.to_thread(publish_aapl, 101.0)
        for socket, _, _ in opened:
            while (tick := json.loads(await asyncio.wait_for(socket.recv(), 10)))["data"][
                "price"
            ] != 101.0:
                pass
            assert tick["type"] == "asset_update"

        # One process dies without a goodbye.
        victim = next(pid for pid in pids if started_by(first.process, int(pid)))
        os.killpg(first.process.popen.pid, signal.SIGKILL)
        lost = [cid for cid, process in processes.items() if process and process.endswith(victim)]
        assert lost

        # Its clients see their socket close, reconnect through nginx and get a snapshot.
        for socket, cid, _ in opened:
            if cid in lost:
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(socket.recv(), 10)
        reopened = [await open_subscribed(url) for _ in lost]
        for _, cid, snapshot in reopened:
            assert snapshot["data"]["price"] == 101.0
            survivor = process_of(cid)
            assert survivor is not None
            assert not survivor.endswith(victim)

        # The dead process's connections leave the registry on their own.
        await asyncio.to_thread(
            wait_until,
            lambda: not set(lost) & set(live_connection_ids()),
            timeout=CONNECTION_TTL * 3, what="the killed process's sockets to expire",
        )  # fmt: skip
        for socket, _, _ in opened + reopened:
            await socket.close()

    asyncio.run(scenario())
