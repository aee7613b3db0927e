"""Query parameters and bodies of the chart series endpoints: the views read and answer through
these, so the JSON and the OpenAPI schema cannot drift. Prices leave `Decimal` only here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.market.series import SeriesRange, SeriesStatus
from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.streams.frames import wire_time

MAX_SPARKLINE_SYMBOLS = 100


def price_field(**options: Any) -> serializers.DecimalField:
    """A price as a JSON number (no rounding: the saved digits are the source's)."""
    return serializers.DecimalField(
        max_digits=None, decimal_places=None, coerce_to_string=False, **options
    )


@extend_schema_field(OpenApiTypes.STR)
class PointTimeField(serializers.Field):
    """A moment (ISO 8601 UTC with Z) for intraday points, a day (YYYY-MM-DD) for daily ones."""

    def to_representation(self, value: Any) -> str:
        return wire_time(value) if isinstance(value, datetime) else value.isoformat()


class SeriesPointSerializer(serializers.Serializer[Any]):
    t = PointTimeField(help_text="ISO 8601 UTC moment (1d) or YYYY-MM-DD trading day.")
    v = price_field(help_text="The price then (the day's close for daily ranges).")


class AssetSeriesSerializer(serializers.Serializer[Any]):
    symbol = serializers.CharField()
    range = serializers.ChoiceField(choices=[r.value for r in SeriesRange])
    currency = serializers.CharField()
    previous_close = price_field(allow_null=True)
    status = serializers.ChoiceField(
        choices=[s.value for s in SeriesStatus],
        help_text='"loading": missing daily bars were asked for; a `history_ready` socket '
        "message follows when they are saved (or could not be), then read the series again.",
    )
    points = SeriesPointSerializer(many=True, help_text="Oldest first.")
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="When the latest quote was priced."
    )
    stale = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True, help_text="Why the series is stale or incomplete; null when it is not."
    )


class SparklinesSerializer(serializers.Serializer[Any]):
    series = serializers.DictField(
        child=AssetSeriesSerializer(), help_text="By symbol; unknown symbols are left out."
    )


class SeriesQuerySerializer(serializers.Serializer[Any]):
    range = serializers.ChoiceField(
        choices=[r.value for r in SeriesRange], default=SeriesRange.DAY.value
    )


class SparklinesQuerySerializer(serializers.Serializer[Any]):
    symbols = serializers.CharField(
        max_length=MAX_SPARKLINE_SYMBOLS * 33,
        help_text=f"Comma-separated tickers, at most {MAX_SPARKLINE_SYMBOLS}.",
    )

    def validate_symbols(self, value: str) -> list[str]:
        raw = [part for part in value.split(",") if part.strip()]
        if not raw:
            raise serializers.ValidationError("Give at least one symbol.")
        if len(raw) > MAX_SPARKLINE_SYMBOLS:
            raise serializers.ValidationError(f"At most {MAX_SPARKLINE_SYMBOLS} symbols.")
        try:
            return list(dict.fromkeys(symbol_normalize(part) for part in raw))
        except InvalidSymbol as error:
            raise serializers.ValidationError(str(error)) from None
