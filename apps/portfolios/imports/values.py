"""Reading one cell: numbers, tickers, currency codes and dates, each refused with a sentence.

Numbers take a decimal point and nothing else: "1,234.50" and "1,5" are refused rather than
guessed (a thousands separator in one locale is the decimal mark in another).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.portfolios.imports.parsed import CellProblem, RowProblemCode
from apps.portfolios.models import Position

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
# Quotes in hundredths of a unit (pence, agorot, cents): Ghostfolio calls them derived
# currencies. Read as GBP they would be 100 times too much, so they are refused by name.
MINOR_UNITS = {"GBp": "GBP", "GBX": "GBP", "ZAc": "ZAR", "ZAC": "ZAR", "ILA": "ILS", "USX": "USD"}
# Day first where the order is ambiguous, as Ghostfolio reads them.
DATE_FORMATS = ("%Y%m%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y.%m.%d")

_QUANTITY = Position._meta.get_field("quantity")
_COST = Position._meta.get_field("cost_basis")
QUANTITY_PLACES = int(_QUANTITY.decimal_places or 0)
QUANTITY_WHOLE_DIGITS = int(_QUANTITY.max_digits or 0) - QUANTITY_PLACES
COST_PLACES = int(_COST.decimal_places or 0)
COST_WHOLE_DIGITS = int(_COST.max_digits or 0) - COST_PLACES
COST_STEP = Decimal(1).scaleb(-COST_PLACES)


def number_read(text: str, column: str) -> Decimal:
    cleaned = text.strip()
    if not cleaned:
        raise CellProblem(RowProblemCode.MISSING_VALUE, f"{column} is empty.")
    if not _NUMBER.match(cleaned):
        hint = (
            ": write it with a decimal point and no thousands separators (1234.5)"
            if re.fullmatch(r"[+-]?[\d.,' \u00a0]+", cleaned)
            else ""
        )
        raise CellProblem(RowProblemCode.BAD_NUMBER, f"{column} “{cleaned}” is not a number{hint}.")
    return Decimal(cleaned)


def quantity_fit(value: Decimal, column: str) -> Decimal:
    """A quantity as the database keeps it, or a problem: never silently rounded."""
    exponent = value.normalize().as_tuple().exponent  # an int: finite numbers only
    if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
        raise CellProblem(
            RowProblemCode.TOO_PRECISE,
            f"{column} {value:f} has more than {QUANTITY_PLACES} decimal places.",
        )
    if value.adjusted() >= QUANTITY_WHOLE_DIGITS:
        raise CellProblem(RowProblemCode.TOO_LARGE, f"{column} {value:f} is too large.")
    return value


def cost_fit(value: Decimal, column: str) -> Decimal:
    """A cost basis rounded to the database's 8 decimal places, or a problem if too large."""
    rounded = value.quantize(COST_STEP, rounding=ROUND_HALF_EVEN)
    if rounded.adjusted() >= COST_WHOLE_DIGITS:
        raise CellProblem(RowProblemCode.TOO_LARGE, f"{column} {value:f} is too large.")
    return rounded


def symbol_read(text: str, column: str) -> str:
    if not text.strip():
        raise CellProblem(RowProblemCode.MISSING_VALUE, f"{column} is empty.")
    try:
        return symbol_normalize(text)
    except InvalidSymbol:
        raise CellProblem(
            RowProblemCode.BAD_SYMBOL,
            f"{column} “{text.strip()}” cannot be a ticker: write it as Yahoo Finance does "
            "(AAPL, BRK-B, SAP.DE, BTC-USD).",
        ) from None


def currency_read(text: str, column: str) -> str | None:
    """An ISO 4217 code, upper-cased; None when the cell is empty (the asset's currency)."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if cleaned in MINOR_UNITS:
        major = MINOR_UNITS[cleaned]
        raise CellProblem(
            RowProblemCode.BAD_CURRENCY,
            f"{column} {cleaned} counts hundredths of {major}: give the amounts in {major}.",
        )
    if not _CURRENCY.match(cleaned):
        raise CellProblem(
            RowProblemCode.BAD_CURRENCY,
            f"{column} “{cleaned}” is not a currency code (USD, EUR, GBP).",
        )
    return cleaned.upper()


def date_read(text: str, column: str) -> datetime:
    """A date (and maybe a time), as UTC: ISO 8601, yyyymmdd, or day-first dd/mm/yyyy."""
    cleaned = text.strip().replace(";", " ")  # IBKR writes "20240115;103000"
    if not cleaned:
        raise CellProblem(RowProblemCode.MISSING_VALUE, f"{column} is empty.")
    moment = _date_parse(cleaned)
    if moment is None:
        raise CellProblem(
            RowProblemCode.BAD_DATE,
            f"{column} “{text.strip()}” is not a date (2024-01-15, 15/01/2024 or 20240115).",
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date_parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    day = text.split(" ", 1)[0]
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(day, pattern)  # naive: made UTC by the caller
        except ValueError:
            continue
    return None
