"""Figures on the portfolio pages as the live script shows them: grouped, "—" when unknown."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()

UNKNOWN = "\u2014"  # an em dash: never 0 for a figure nobody knows


@register.filter
def figure(value: Decimal | None, digits: int = 2) -> str:
    """1,234.56; "—" for None."""
    return UNKNOWN if value is None else str(floatformat(value, f"{digits}g"))


@register.filter
def signed(value: Decimal | None, digits: int = 2) -> str:
    """+1,234.56 / -1,234.56; "—" for None."""
    if value is None:
        return UNKNOWN
    return ("+" if value > 0 else "") + str(floatformat(value, f"{digits}g"))


@register.filter
def quantity(value: Decimal | None) -> str:
    """A quantity as typed: no trailing zeros (0.25, not 0.2500000000)."""
    if value is None:
        return UNKNOWN
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    return str(floatformat(whole, "g")) + (f".{fraction}" if fraction else "")


@register.filter
def price(value: Decimal | None) -> str:
    """A price: 4 decimals below 10 (FX rates, pennies), else 2; "—" for None."""
    return figure(value, 4 if value is not None and value < 10 else 2)
