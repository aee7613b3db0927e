"""The portfolio series endpoint's response body (money leaves Decimal here, as numbers)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.portfolios.value_series import SeriesRange


def _money(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=28, decimal_places=2, coerce_to_string=False, allow_null=True,
        help_text=help_text,
    )  # fmt: skip


class PortfolioSeriesPointSerializer(serializers.Serializer[dict[str, Any]]):
    t = serializers.CharField(help_text="ISO 8601 UTC time with Z (1d), else YYYY-MM-DD.")
    v = _money("The value of what was known; null when nothing was.")
    cost_basis = _money("Cost of the positions in v, in the portfolio's currency.")
    gain = _money("v - cost_basis; null when either is.")
    complete = serializers.BooleanField(help_text="False: something was missing (see missing).")
    missing = serializers.ListField(child=serializers.CharField())


class PortfolioSeriesSerializer(serializers.Serializer[dict[str, Any]]):
    portfolio_id = serializers.IntegerField()
    range = serializers.ChoiceField(choices=[r.value for r in SeriesRange])
    currency = serializers.CharField()
    points = PortfolioSeriesPointSerializer(many=True, help_text="Oldest first.")
    as_of = serializers.CharField(
        allow_null=True, help_text="When the newest point's prices were read (ISO, Z)."
    )


class PortfolioSeriesQuerySerializer(serializers.Serializer[dict[str, Any]]):
    range = serializers.ChoiceField(
        choices=[r.value for r in SeriesRange],
        default=SeriesRange.DAY.value,
        help_text="1d: the values pushed in the last 24 h; 1m, 6m, 1y, max: one point a day.",
    )
