"""The force-update endpoint's request and response bodies."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.market.selectors import symbols_unknown
from apps.market.symbols import InvalidSymbol, symbol_normalize

MAX_SYMBOLS_PER_FORCE_UPDATE = 50


class ForcePriceUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    symbols = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=40),
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


class ForcePriceUpdateAcceptedSerializer(serializers.Serializer[dict[str, Any]]):
    task_id = serializers.CharField()
    symbols = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
