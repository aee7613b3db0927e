"""GET /realtime/websocket-info/, /realtime/status/, /realtime/health/ and the OpenAPI schema."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import yaml
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings

from apps.market.feed import HEARTBEAT_KEY
from apps.realtime.protocol import ClientType, ErrorCode, ServerType
from apps.realtime.registry import connection_add
from config.devstack.redis_local import LocalRedis, redis_server_binary
from config.redis_client import async_redis_client, redis_client
from tests.conftest import free_port
from tests.factories import user_create

pytestmark = pytest.mark.django_db

STATUS = "/realtime/status/"


def redis_point_at(settings: Settings, url: str) -> None:
    """Registry, cache and throttles on another Redis for this test (restored after it)."""
    settings.REDIS_URL = url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    redis_client.cache_clear()


@pytest.fixture
def own_redis(settings: Settings) -> Iterator[redis.Redis]:
    """A redis-server of this test's own, so its command counts are this test's alone."""
    binary = redis_server_binary()
    assert binary is not None, "no redis-server binary"
    server = LocalRedis(binary, free_port())
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    redis_point_at(settings, url)
    try:
        yield redis.Redis.from_url(url, decode_responses=True)
    finally:
        redis_client.cache_clear()
        server.stop()


@pytest.fixture
def health_log() -> Iterator[list[str]]:
    """Lines logged by personal_finance.realtime.health during the test."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]  # a list is the handler's sink
    logger = logging.getLogger("personal_finance.realtime.health")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def sockets_register(*owners: int | None) -> None:
    """Live connections in the registry, as a server process writes them: one per owner."""

    async def register() -> None:
        for index, owner in enumerate(owners):
            await connection_add(connection_id=f"test-{index}", user_id=owner, process="test")
        await async_redis_client().aclose()

    asyncio.run(register())


def rate_limit(rate: str) -> int:
    return int(rate.split("/")[0])


def test_websocket_info_describes_the_url_and_every_message_type() -> None:
    body = Client().get("/realtime/websocket-info/").json()
    assert body["websocket_url"] == "ws://testserver/ws/realtime/"
    assert body["connection_info"]["protocol"] == "ws"
    assert body["connection_info"]["path"] == "/ws/realtime/"
    assert set(body["message_types"]) == {t.value for t in (*ClientType, *ServerType)}
    assert set(body["error_codes"]) == {code.value for code in ErrorCode}
    assert body["close_codes"]["too_many_connections"] == 4029


def test_websocket_info_says_wss_when_the_request_was_secure() -> None:
    body = Client().get("/realtime/websocket-info/", secure=True).json()
    assert body["websocket_url"].startswith("wss://")


def test_status_without_login_has_global_figures_only() -> None:
    body = Client().get("/realtime/status/").json()
    assert body["service_status"] == "running"
    assert set(body["global_stats"]) == {
        "total_connections", "authenticated_users", "portfolio_subscriptions",
        "asset_subscriptions",
    }  # fmt: skip
    assert body["user_stats"] is None


def test_status_with_login_has_the_users_figures() -> None:
    client = Client()
    client.force_login(user_create())
    body = client.get("/realtime/status/").json()
    assert body["user_stats"] == {
        "connection_count": 0, "subscriptions": {"portfolios": [], "assets": []},
    }  # fmt: skip


def test_health_is_503_naming_the_price_feed_until_a_batch_has_run() -> None:
    response = Client().get("/realtime/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["price_feed_running"] is False
    assert body["checks"]["price_feed"].startswith("price_feed: no batch")
    assert body["checks"]["redis"] == body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"


def test_health_is_200_with_a_recent_batch_and_needs_no_login() -> None:
    cache.set(HEARTBEAT_KEY, {"at": time.time(), "symbols": 3, "took": 0.1})
    response = Client().get("/realtime/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["price_feed_running"] is True
    assert body["active_connections"] == 0
    assert set(body["checks"].values()) == {"ok"}


def test_health_for_load_balancers_checks_only_what_the_web_needs() -> None:
    response = Client().get("/realtime/health/?check=web")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"redis", "database"}
    assert response.json()["price_feed_running"] is False


def test_the_openapi_schema_documents_the_rest_endpoints() -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert {
        "/realtime/websocket-info/", "/realtime/status/", "/realtime/health/",
        "/api/realtime/force_price_update/",
    } <= set(schema["paths"])  # fmt: skip


def test_the_schema_generates_without_warnings() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/realtime/health/" in out.getvalue()


def test_anonymous_status_is_throttled_per_address_with_a_json_reason() -> None:
    limit = rate_limit(settings.STATUS_ANON_RATE)
    client = Client()
    assert [client.get(STATUS).status_code for _ in range(limit)] == [200] * limit

    refused = client.get(STATUS)

    assert refused.status_code == 429
    assert "throttled" in refused.json()["detail"]
    assert int(refused["Retry-After"]) > 0
    # A made-up X-Forwarded-For buys no fresh allowance (uvicorn already resolved the address).
    assert client.get(STATUS, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert Client(REMOTE_ADDR="198.51.100.2").get(STATUS).status_code == 200


def test_a_logged_in_user_has_an_allowance_of_their_own() -> None:
    anonymous = Client()
    for _ in range(rate_limit(settings.STATUS_ANON_RATE) + 1):
        anonymous.get(STATUS)
    member = Client()  # same address as the throttled anonymous caller
    member.force_login(user_create())
    limit = rate_limit(settings.STATUS_USER_RATE)

    assert [member.get(STATUS).status_code for _ in range(limit)] == [200] * limit
    assert member.get(STATUS).status_code == 429


def test_many_status_calls_cost_one_registry_read(
    own_redis: redis.Redis, settings: Settings
) -> None:
    settings.STATUS_CACHE_SECONDS = 60  # every call below falls in one cache period
    sockets_register(None, None, None, None, None)
    own_redis.config_resetstat()

    answers = [Client(REMOTE_ADDR=f"10.0.0.{n}").get(STATUS).json() for n in range(20)]

    assert {a["global_stats"]["total_connections"] for a in answers} == {5}
    commands = own_redis.info("commandstats")
    # stats_read: one HGET and two SMEMBERS per live connection, once for all 20 callers.
    assert commands["cmdstat_hget"]["calls"] == 5
    assert commands["cmdstat_smembers"]["calls"] == 10


def test_cached_figures_never_show_one_user_anothers_sockets() -> None:
    alice, bob = user_create(), user_create()
    sockets_register(alice.pk, alice.pk, bob.pk, None)

    def figures(user: Any) -> dict[str, Any]:
        client = Client()
        if user is not None:
            client.force_login(user)
        return dict(client.get(STATUS).json())

    for _ in range(2):  # the second round is served from the cache
        assert figures(alice)["user_stats"]["connection_count"] == 2
        assert figures(bob)["user_stats"]["connection_count"] == 1
        anonymous = figures(None)
        assert anonymous["user_stats"] is None
        assert anonymous["global_stats"]["total_connections"] == 4
        assert anonymous["global_stats"]["authenticated_users"] == 2


def test_health_refuses_an_unknown_check_naming_the_allowed_values() -> None:
    response = Client().get("/realtime/health/?check=AAA")
    assert response.status_code == 400
    assert response.json() == {"check": ['"AAA" is not one of: all, web.']}


def test_health_says_unavailable_and_leaves_the_exception_to_the_log(
    settings: Settings, health_log: list[str]
) -> None:
    dead_port = free_port()
    redis_point_at(settings, f"redis://127.0.0.1:{dead_port}/0")
    try:
        response = Client().get("/realtime/health/?check=web")
    finally:
        redis_client.cache_clear()

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"redis": "redis: unavailable", "database": "ok"}
    assert body["active_connections"] is None
    text = response.content.decode()
    assert "Error" not in text
    assert str(dead_port) not in text
    assert any(line.startswith("health: redis unavailable: ConnectionError") for line in health_log)


def test_the_schema_lists_the_health_checks_and_the_refusals() -> None:
    schema = yaml.safe_load(Client().get("/api/schema/").content)
    health = schema["paths"]["/realtime/health/"]["get"]
    (check,) = [p for p in health["parameters"] if p["name"] == "check"]
    assert check["in"] == "query"
    assert check["schema"]["enum"] == ["all", "web"]
    assert {"200", "400", "503"} <= set(health["responses"])
    assert "429" in schema["paths"]["/realtime/status/"]["get"]["responses"]
