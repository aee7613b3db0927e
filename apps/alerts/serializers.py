"""Bodies and query parameters of the alert API: the views validate and answer through these,
so the JSON and the OpenAPI schema cannot drift. Figures are JSON numbers (null when unknown),
times ISO 8601 UTC with a Z."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.alerts.models import Alert, AlertCondition, AlertState
from apps.alerts.selectors import RECENT_EVENTS, AlertStatus
from apps.alerts.services import MARGIN_MAX_PERCENT, alert_rule_problems

BIGINT_MAX = 2**63 - 1  # the database's id range: a larger id is a 400, not an overflow


def _price(**options: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=24, decimal_places=8, coerce_to_string=False, **options
    )


class AlertSerializer(serializers.Serializer[dict[str, Any]]):
    """One alert, as read now."""

    id = serializers.IntegerField()
    target = serializers.ChoiceField(choices=["symbol", "portfolio"])
    symbol = serializers.CharField(allow_null=True)
    portfolio_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(help_text="The asset's name, or the portfolio's.")
    condition = serializers.ChoiceField(choices=AlertCondition.choices)
    threshold = _price(help_text="A price or value in `currency`; a percentage for `move`.")
    unit = serializers.CharField(help_text="The threshold's unit: `currency`, or % for a move.")
    currency = serializers.CharField()
    rearm_margin_percent = serializers.DecimalField(
        max_digits=6, decimal_places=3, coerce_to_string=False
    )
    note = serializers.CharField(allow_blank=True)
    paused = serializers.BooleanField()
    state = serializers.ChoiceField(choices=AlertState.choices)
    status = serializers.ChoiceField(
        choices=[status.value for status in AlertStatus],
        help_text="armed, fired, paused, or waiting (it cannot fire now: `waiting_reason`).",
    )
    waiting_reason = serializers.CharField(allow_null=True)
    description = serializers.CharField(help_text="The rule in words.")
    fired_at = serializers.DateTimeField(allow_null=True)
    fired_value = _price(allow_null=True)
    value = _price(allow_null=True, help_text="The price or value now; null when unknown.")
    change_percent = serializers.DecimalField(
        max_digits=12, decimal_places=4, coerce_to_string=False, allow_null=True,
        help_text="The day's move now, in percent; null when unknown.",
    )  # fmt: skip
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AlertWriteSerializer(serializers.Serializer[dict[str, Any]]):
    """Set or change an alert: on a `symbol` or on one of your portfolios (`portfolio_id`),
    exactly one. PATCH changes only the fields sent (a new target replaces the old one)."""

    symbol = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    portfolio_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX
    )
    condition = serializers.ChoiceField(choices=AlertCondition.choices)
    threshold = serializers.DecimalField(
        max_digits=24, decimal_places=8, coerce_to_string=False,
        help_text="Above 0: a price in the symbol's currency, a value in the portfolio's "
        "currency, or for `move` a percentage (at most 100).",
    )  # fmt: skip
    rearm_margin_percent = serializers.DecimalField(
        max_digits=6, decimal_places=3, coerce_to_string=False, required=False,
        min_value=0, max_value=MARGIN_MAX_PERCENT,
        help_text="How far back past the threshold (percent of it; points for `move`) the "
        "value must come before the alert can fire again. Default 0.5.",
    )  # fmt: skip
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)
    paused = serializers.BooleanField(required=False, help_text="Pause or resume it.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The rule as it will be saved (for PATCH, the fields sent over the alert's own)."""
        alert: Alert | None = self.instance
        problems = alert_rule_problems(
            condition=attrs.get("condition", alert.condition if alert else ""),
            threshold=attrs.get("threshold", alert.threshold if alert else None),
            margin=attrs.get("rearm_margin_percent", alert.rearm_margin_percent if alert else None),
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class AlertFilterSerializer(serializers.Serializer[dict[str, Any]]):
    symbol = serializers.CharField(required=False, max_length=40, help_text="Alerts on it.")
    portfolio = serializers.IntegerField(
        required=False, min_value=1, max_value=BIGINT_MAX, help_text="Alerts on this portfolio."
    )


class AlertEventSerializer(serializers.Serializer[dict[str, Any]]):
    """One firing, as the alert read when it fired (the alert may be edited or gone since)."""

    id = serializers.IntegerField()
    alert_id = serializers.IntegerField(allow_null=True, help_text="null once it is deleted.")
    target = serializers.CharField(help_text="The symbol or the portfolio's name.")
    condition = serializers.ChoiceField(choices=AlertCondition.choices)
    threshold = _price()
    value = _price(help_text="The price or value that crossed.")
    change_percent = serializers.DecimalField(
        max_digits=12, decimal_places=4, coerce_to_string=False, allow_null=True
    )
    currency = serializers.CharField()
    message = serializers.CharField()
    as_of = serializers.DateTimeField(allow_null=True, help_text="When the value was priced.")
    fired_at = serializers.DateTimeField()


class AlertEventsQuerySerializer(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100,
                                     default=RECENT_EVENTS)  # fmt: skip
