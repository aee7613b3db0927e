"""Currencies: minor units that sources quote in, scaled to their major currency."""

from __future__ import annotations

from decimal import Decimal

# Yahoo quotes London in pence (GBp), Johannesburg in cents (ZAc), Tel Aviv in agorot (ILA).
MINOR_UNITS: dict[str, tuple[str, Decimal]] = {
    "GBp": ("GBP", Decimal(100)),
    "GBX": ("GBP", Decimal(100)),
    "ZAc": ("ZAR", Decimal(100)),
    "ZAC": ("ZAR", Decimal(100)),
    "ILA": ("ILS", Decimal(100)),
}


def currency_major(currency: str) -> tuple[str, Decimal]:
    """The major currency and the divisor that turns a price in `currency` into it."""
    if currency in MINOR_UNITS:
        return MINOR_UNITS[currency]
    return currency.upper(), Decimal(1)
