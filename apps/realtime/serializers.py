"""Request bodies of the realtime REST endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.market.selectors import symbols_unknown
from apps.market.symbols import InvalidSymbol, symbol_normalize

MAX_SYMBOLS_PER_FORCE_UPDATE = 50


class ForcePriceUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=40),
        min_length=1,
        max_length=MAX_SYMBOLS_PER_FORCE_UPDATE,
    )

    def validate_symbols(self, value: list[str]) -> list[str]:
        try:
            symbols = list(dict.fromkeys(symbol_normalize(raw) for raw in value))
        except InvalidSymbol as error:
            raise serializers.ValidationError(str(error)) from None
        unknown = symbols_unknown(symbols)
        if unknown:
            raise serializers.ValidationError(f"unknown symbol(s): {', '.join(unknown)}")
        return symbols


# Response shapes, for the OpenAPI schema (the views build plain dicts).


class ForcePriceUpdateAcceptedSerializer(serializers.Serializer[dict[str, Any]]):
    task_id = serializers.CharField()
    symbols = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()


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
