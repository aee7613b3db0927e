"""The one readable sentence each firing carries ("AAPL rose to 201.34 USD, above 200.00")."""

from __future__ import annotations

from decimal import Decimal

from apps.alerts.models import AlertCondition

MAX_PLACES = 8  # prices are stored with 8 decimals (PriceField)


def amount_text(amount: Decimal) -> str:
    """Thousands grouped, at least two decimals and no trailing zeros beyond them:
    50,123.45 / 200.00 / 0.00012345."""
    exponent = amount.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{amount:,.{min(max(places, 2), MAX_PLACES)}f}"


def percent_text(percent: Decimal) -> str:
    """A threshold in percent as typed: 5, 2.5, 0.75."""
    exponent = percent.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{percent:.{places}f}"


def alert_message(
    *,
    target: str,
    condition: str,
    threshold: Decimal,
    value: Decimal,
    currency: str,
    change_percent: Decimal | None,
) -> str:
    """What crossed, to what, against which threshold; `target` is a symbol or a portfolio."""
    level = amount_text(threshold)
    now = f"{amount_text(value)} {currency}"
    if condition == AlertCondition.ABOVE:
        return f"{target} rose to {now}, {'above' if value > threshold else 'at'} {level}"
    if condition == AlertCondition.BELOW:
        return f"{target} fell to {now}, {'below' if value < threshold else 'at'} {level}"
    moved = "moved" if change_percent is None else f"moved {change_percent:+.2f}%"
    return f"{target} {moved} today to {now}, beyond ±{percent_text(threshold)}%"
