"""Price alerts a person sets on a symbol or a portfolio, and the record of each firing."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.market.models import Asset
from apps.portfolios.models import Portfolio


class AlertCondition(models.TextChoices):
    ABOVE = "above", "rises to or above"
    BELOW = "below", "falls to or below"
    # The day's move (against the previous close) beyond +/- threshold percent.
    MOVE = "move", "moves by at least ± %"


class AlertState(models.TextChoices):
    ARMED = "armed", "armed"
    # Fired and waiting for the value to come back past the re-arm margin.
    FIRED = "fired", "fired"


class Alert(models.Model):
    """One condition on one symbol (`asset`) or one portfolio: exactly one of them is set.

    `threshold` is a price in the asset's currency, a value in the portfolio's base currency,
    or (for `move`) a percentage. It fires once when crossed and re-arms only after the value
    comes back past `rearm_margin_percent` (of the threshold; percentage points for `move`).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    condition = models.CharField(max_length=8, choices=AlertCondition)
    threshold = models.DecimalField(max_digits=24, decimal_places=8)
    rearm_margin_percent = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("0.5"),
        help_text="How far back past the threshold the value must come before it can fire again.",
    )  # fmt: skip
    note = models.CharField(max_length=200, blank=True)
    paused = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=AlertState, default=AlertState.ARMED)
    fired_at = models.DateTimeField(null=True, blank=True)
    fired_value = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(asset__isnull=False) & Q(portfolio__isnull=True))
                | (Q(asset__isnull=True) & Q(portfolio__isnull=False)),
                name="alert_on_one_symbol_or_one_portfolio",
            ),
            models.CheckConstraint(condition=Q(threshold__gt=0), name="alert_threshold_positive"),
            models.CheckConstraint(
                condition=Q(rearm_margin_percent__gte=0), name="alert_margin_not_negative"
            ),
        ]
        indexes = [
            # The pipeline's check: the live alerts of the symbols a batch changed that cross
            # now, found by range on the threshold within (asset, state, condition).
            models.Index(
                fields=["asset", "state", "condition", "threshold"],
                name="alert_live_by_asset_level",
                condition=Q(paused=False),
            ),
            models.Index(
                fields=["portfolio", "state"],
                name="alert_live_by_portfolio",
                condition=Q(paused=False),
            ),
        ]

    def __str__(self) -> str:
        target = self.asset.symbol if self.asset is not None else f"portfolio {self.portfolio_id}"
        return f"{target} {self.condition} {self.threshold}"


class AlertEvent(models.Model):
    """One firing: the value and time that crossed, kept as the alert read then (it may be
    edited or deleted later; `owner` and the texts stay)."""

    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_events"
    )
    target = models.CharField(max_length=120, help_text="The symbol or the portfolio's name.")
    condition = models.CharField(max_length=8, choices=AlertCondition)
    threshold = models.DecimalField(max_digits=24, decimal_places=8)
    value = models.DecimalField(max_digits=24, decimal_places=8)
    change_percent = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3)
    message = models.CharField(max_length=300)
    as_of = models.DateTimeField(null=True, blank=True, help_text="When the value was priced.")
    fired_at = models.DateTimeField()

    class Meta:
        ordering = ["owner", "-fired_at"]
        indexes = [models.Index(fields=["owner", "-fired_at"], name="alert_event_recent")]

    def __str__(self) -> str:
        return self.message
