"""The realtime REST endpoints: WebSocket info, service status, health."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from apps.realtime.auth import APP_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX
from apps.realtime.health import CHECK_SETS, health_problems, price_feed_check
from apps.realtime.protocol import MESSAGE_DESCRIPTIONS, CloseCode, ErrorCode
from apps.realtime.registry import stats_read
from apps.realtime.serializers import (
    HealthQuerySerializer,
    HealthSerializer,
    StatusSerializer,
    WebsocketInfoSerializer,
)

WEBSOCKET_PATH = "/ws/realtime/"
STATUS_CACHE_KEY = "realtime:status"


class WebsocketInfoView(APIView):
    """Where to connect and what to send: ws or wss as the request came in (proxies too)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=WebsocketInfoSerializer)
    def get(self, request: Request) -> Response:
        protocol = "wss" if request.is_secure() else "ws"
        host = request.get_host()
        info = WebsocketInfoSerializer({
            "websocket_url": f"{protocol}://{host}{WEBSOCKET_PATH}",
            "connection_info": {
                "protocol": protocol,
                "host": host,
                "path": WEBSOCKET_PATH,
                "authentication": "session-based; or a DRF token as `Authorization: Token <key>` "
                f"or subprotocols ['{APP_SUBPROTOCOL}', '{TOKEN_SUBPROTOCOL_PREFIX}<key>']",
            },
            "message_types": dict(MESSAGE_DESCRIPTIONS),
            "error_codes": [code.value for code in ErrorCode],
            "close_codes": {code.name.lower(): code.value for code in CloseCode},
        })  # fmt: skip
        return Response(info.data)


def status_figures(*, user_id: int | None) -> dict[str, Any]:
    """The registry's figures, read at most once per STATUS_CACHE_SECONDS for the anonymous
    and once per user, whatever the number of callers: each read costs three Redis commands
    per live connection. While one caller refreshes them, the others get the previous ones."""
    seconds = settings.STATUS_CACHE_SECONDS
    if not seconds:
        return _figures_read(user_id)
    key = f"{STATUS_CACHE_KEY}:{user_id or 'anonymous'}"
    cached = cache.get(key)  # (read at, figures)
    if cached is not None and (
        time.time() - cached[0] < seconds or not cache.add(f"{key}:refresh", 1, seconds)
    ):
        return dict(cached[1])
    figures = _figures_read(user_id)
    cache.set(key, (time.time(), figures), timeout=5 * seconds)
    return figures


def _figures_read(user_id: int | None) -> dict[str, Any]:
    totals, mine = stats_read(user_id=user_id)
    return {"global": asdict(totals), "user": asdict(mine)}


class StatusAnonThrottle(AnonRateThrottle):
    scope = "realtime_status_anon"  # STATUS_ANON_RATE, per client address


class StatusUserThrottle(UserRateThrottle):
    scope = "realtime_status_user"  # STATUS_USER_RATE, per user


class StatusView(APIView):
    """Global figures from the connection registry; the caller's own figures when logged in."""

    permission_classes = [AllowAny]
    throttle_classes = [StatusAnonThrottle, StatusUserThrottle]

    @extend_schema(responses={200: StatusSerializer, 429: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        user_id = request.user.pk if request.user.is_authenticated else None
        figures = status_figures(user_id=user_id)
        user_stats = None
        if user_id is not None:
            mine = figures["user"]
            user_stats = {
                "connection_count": mine["connection_count"],
                "subscriptions": {"portfolios": mine["portfolios"], "assets": mine["assets"]},
            }
        body = StatusSerializer({
            "service_status": "running",
            "global_stats": figures["global"],
            "user_stats": user_stats,
            "timestamp": timezone.now(),
        })  # fmt: skip
        return Response(body.data)


class HealthView(APIView):
    """200 when every part answers, 503 naming the failing ones. No login: for load balancers."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        parameters=[HealthQuerySerializer],
        responses={200: HealthSerializer, 503: HealthSerializer, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        query = HealthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        checks = CHECK_SETS[query.validated_data["check"]]
        problems = health_problems(checks)
        feed = (
            problems
            if "price_feed" in checks
            else health_problems({"price_feed": price_feed_check})
        )
        totals = None if "redis" in problems else status_figures(user_id=None)["global"]
        body = HealthSerializer(
            {
                "status": "healthy" if not problems else "unhealthy",
                "price_feed_running": "price_feed" not in feed,
                "active_connections": totals["total_connections"] if totals else None,
                "checks": {name: problems.get(name, "ok") for name in checks},
                "timestamp": timezone.now(),
            }
        )
        return Response(body.data, status=503 if problems else 200)
