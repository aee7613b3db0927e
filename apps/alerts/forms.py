"""The alert form: every rule has its message beside its field.

The target (a symbol or one of the person's portfolios) is checked by the service the page
calls (`services.alert_target_resolve`): a symbol new to the database needs a worker's lookup
first, which the page runs before asking again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from apps.alerts.models import Alert, AlertCondition
from apps.alerts.services import DEFAULT_MARGIN_PERCENT, alert_rule_problems
from apps.market.symbols import SYMBOL_MAX_LENGTH
from apps.portfolios.forms import CODE_INPUT, DECIMAL_INPUT

CONDITION_CHOICES = [
    (AlertCondition.ABOVE.value, "rises to or above the threshold"),
    (AlertCondition.BELOW.value, "falls to or below the threshold"),
    (AlertCondition.MOVE.value, "moves up or down by at least the threshold (%) in a day"),
]
NOTE_MAX_LENGTH = Alert._meta.get_field("note").max_length or 200


class AlertForm(forms.Form):
    """Set or edit an alert on a symbol or on one of the person's portfolios."""

    symbol = forms.CharField(
        label="Symbol",
        required=False,
        max_length=SYMBOL_MAX_LENGTH,
        help_text="A Yahoo-style ticker: AAPL, BRK-B, SAP.DE, BTC-USD, EURUSD=X.",
        widget=forms.TextInput(attrs={"list": "known-symbols", **CODE_INPUT}),
    )
    portfolio = forms.TypedChoiceField(
        label="or one of your portfolios",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Alerts on a portfolio watch its total value in its base currency.",
    )
    condition = forms.ChoiceField(label="When it", choices=CONDITION_CHOICES)
    threshold = forms.DecimalField(
        label="Threshold",
        max_digits=24,
        decimal_places=8,
        help_text="A price in the symbol's currency or a value in the portfolio's currency; "
        "for a daily move, a percentage (more than 0, at most 100).",
        widget=DECIMAL_INPUT,
    )
    rearm_margin_percent = forms.DecimalField(
        label="Re-arm margin (%)",
        max_digits=6,
        decimal_places=3,
        initial=DEFAULT_MARGIN_PERCENT,
        help_text="After firing, the value must come back this far (percent of the threshold; "
        "points for a move) before the alert can fire again.",
        widget=DECIMAL_INPUT,
    )
    note = forms.CharField(label="Note (optional)", required=False, max_length=NOTE_MAX_LENGTH)

    def __init__(self, *args: Any, portfolios: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **{"label_suffix": "", **kwargs})
        field = cast(forms.TypedChoiceField, self.fields["portfolio"])
        field.choices = [("", "\u2014 none: a symbol \u2014"), *portfolios]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems = alert_rule_problems(
            condition=data.get("condition", ""),
            threshold=data.get("threshold"),
            margin=data.get("rearm_margin_percent"),
        )
        for field, message in problems.items():
            if field not in self.errors:  # one message per field: the parse error comes first
                self.add_error(field, message)
        return data
