"""Query parameters and response bodies of the realtime REST endpoints: the views validate and
return through these, so the JSON and the OpenAPI schema cannot drift."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.realtime.health import CHECK_SETS


class ConnectionInfoSerializer(serializers.Serializer[dict[str, Any]]):
    protocol = serializers.ChoiceField(choices=["ws", "wss"])
    host = serializers.CharField()
    path = serializers.CharField()
    authentication = serializers.CharField()


class WebsocketInfoSerializer(serializers.Serializer[dict[str, Any]]):
    websocket_url = serializers.CharField()
    connection_info = ConnectionInfoSerializer()
    message_types = serializers.DictField(child=serializers.CharField())
    error_codes = serializers.ListField(child=serializers.CharField())
    close_codes = serializers.DictField(child=serializers.IntegerField())


class GlobalStatsSerializer(serializers.Serializer[dict[str, Any]]):
    total_connections = serializers.IntegerField()
    authenticated_users = serializers.IntegerField()
    portfolio_subscriptions = serializers.IntegerField()
    asset_subscriptions = serializers.IntegerField()


class SubscriptionsSerializer(serializers.Serializer[dict[str, Any]]):
    portfolios = serializers.ListField(child=serializers.IntegerField())
    assets = serializers.ListField(child=serializers.CharField())


class UserStatsSerializer(serializers.Serializer[dict[str, Any]]):
    connection_count = serializers.IntegerField()
    subscriptions = SubscriptionsSerializer()


class StatusSerializer(serializers.Serializer[dict[str, Any]]):
    service_status = serializers.CharField()
    global_stats = GlobalStatsSerializer()
    user_stats = UserStatsSerializer(allow_null=True, help_text="Only when logged in.")
    timestamp = serializers.DateTimeField()


class HealthSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=["healthy", "unhealthy"])
    price_feed_running = serializers.BooleanField()
    active_connections = serializers.IntegerField(allow_null=True)
    checks = serializers.DictField(child=serializers.CharField(), help_text='"ok" or the problem')
    timestamp = serializers.DateTimeField()


class HealthQuerySerializer(serializers.Serializer[dict[str, Any]]):
    check = serializers.ChoiceField(
        choices=list(CHECK_SETS),
        default="all",
        help_text="`web`: only what a web process needs (Redis, database)",
        # DRF's own message does not say what is allowed.
        error_messages={"invalid_choice": f'"{{input}}" is not one of: {", ".join(CHECK_SETS)}.'},
    )
