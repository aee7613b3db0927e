"""The realtime REST endpoints: WebSocket info, service status, health."""

from __future__ import annotations

from dataclasses import asdict

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.realtime.auth import APP_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX
from apps.realtime.health import ALL_CHECKS, WEB_CHECKS, health_problems, price_feed_check
from apps.realtime.protocol import MESSAGE_DESCRIPTIONS, CloseCode, ErrorCode
from apps.realtime.registry import stats_read
from apps.realtime.serializers import HealthSerializer, StatusSerializer, WebsocketInfoSerializer

WEBSOCKET_PATH = "/ws/realtime/"


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


class StatusView(APIView):
    """Global figures from the connection registry; the caller's own figures when logged in."""

    permission_classes = [AllowAny]

    @extend_schema(responses=StatusSerializer)
    def get(self, request: Request) -> Response:
        user_id = request.user.pk if request.user.is_authenticated else None
        totals, mine = stats_read(user_id=user_id)
        user_stats = None
        if user_id is not None:
            user_stats = {
                "connection_count": mine.connection_count,
                "subscriptions": {"portfolios": mine.portfolios, "assets": mine.assets},
            }
        body = StatusSerializer({
            "service_status": "running",
            "global_stats": asdict(totals),
            "user_stats": user_stats,
            "timestamp": timezone.now(),
        })  # fmt: skip
        return Response(body.data)


class HealthView(APIView):
    """200 when every part answers, 503 naming the failing ones. No login: for load balancers."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        responses={200: HealthSerializer, 503: HealthSerializer},
        parameters=[
            OpenApiParameter(
                "check",
                str,
                enum=["all", "web"],
                description="`web`: only what a web process needs (Redis, database)",
            )
        ],
    )
    def get(self, request: Request) -> Response:
        checks = WEB_CHECKS if request.query_params.get("check") == "web" else ALL_CHECKS
        problems = health_problems(checks)
        feed = (
            problems
            if "price_feed" in checks
            else health_problems({"price_feed": price_feed_check})
        )
        totals = None if "redis" in problems else stats_read(user_id=None)[0]
        body = HealthSerializer(
            {
                "status": "healthy" if not problems else "unhealthy",
                "price_feed_running": "price_feed" not in feed,
                "active_connections": totals.total_connections if totals else None,
                "checks": {name: problems.get(name, "ok") for name in checks},
                "timestamp": timezone.now(),
            }
        )
        return Response(body.data, status=503 if problems else 200)
