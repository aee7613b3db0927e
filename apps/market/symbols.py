"""Ticker symbols: one pattern for the database, the API and the WebSocket protocol."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator

SYMBOL_MAX_LENGTH = 32
# Admits Yahoo-style tickers: AAPL, BRK-B, SAP.DE, 0700.HK, ^GSPC, EURUSD=X, ES=F, BTC-USD.
SYMBOL_PATTERN = re.compile(r"^\^?[A-Z0-9]+(?:[.\-][A-Z0-9]+)*(?:=[A-Z]{1,2})?$")

symbol_validator = RegexValidator(
    SYMBOL_PATTERN,
    message="Enter a ticker such as AAPL, BRK-B, SAP.DE, ^GSPC, EURUSD=X or BTC-USD.",
    code="invalid_symbol",
)


class InvalidSymbol(ValueError):
    """Text that cannot be a ticker symbol."""


def symbol_normalize(raw: str) -> str:
    """Upper-case and check a symbol; raise InvalidSymbol when it cannot be a ticker."""
    symbol = raw.strip().upper()
    if len(symbol) > SYMBOL_MAX_LENGTH or not SYMBOL_PATTERN.match(symbol):
        raise InvalidSymbol(f"{raw!r} is not a valid ticker symbol")
    return symbol
