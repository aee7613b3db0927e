"""GET /realtime/websocket-info/, /realtime/status/, /realtime/health/ and the OpenAPI schema."""

from __future__ import annotations

import time

import pytest
import yaml
from django.core.cache import cache
from django.test import Client

from apps.market.feed import HEARTBEAT_KEY
from apps.realtime.protocol import ClientType, ErrorCode, ServerType
from tests.factories import user_create

pytestmark = pytest.mark.django_db


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
