"""What a parsed file holds: positions by symbol, the problems of its rows, and what it skipped.

Parsing reads no database, so the same file parses the same way in the dry run and when it
is applied; symbols and currencies are checked against the assets afterwards (`plan`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from apps.portfolios.imports.formats import FormatSpec


class RowProblemCode(StrEnum):
    MISSING_VALUE = "missing_value"
    BAD_NUMBER = "bad_number"
    BAD_SYMBOL = "bad_symbol"
    BAD_CURRENCY = "bad_currency"
    BAD_DATE = "bad_date"
    QUANTITY_NOT_POSITIVE = "quantity_not_positive"
    COST_NEGATIVE = "cost_negative"
    TOO_PRECISE = "too_precise"
    TOO_LARGE = "too_large"
    EXTRA_VALUES = "extra_values"
    DUPLICATE_SYMBOL = "duplicate_symbol"
    UNKNOWN_ACTIVITY = "unknown_activity"
    UNSUPPORTED = "unsupported"  # a row we understand but cannot turn into a position
    OVERSOLD = "oversold"
    UNKNOWN_SYMBOL = "unknown_symbol"  # the price sources do not list it
    NOT_KNOWN_HERE = "not_known_here"  # not an asset here, and not looked up (or it failed)
    INACTIVE_SYMBOL = "inactive_symbol"
    CURRENCY_MISMATCH = "currency_mismatch"


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1 (or lower)
    code: RowProblemCode
    message: str


class CellProblem(ValueError):
    """One cell cannot be read; the parser files it under the cell's row."""

    def __init__(self, code: RowProblemCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Holding:
    """A position the file gives: its quantity and what it cost in total, in the currency the
    rows state (checked against the asset's later), and the rows it came from."""

    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    rows: list[int]
    currencies: list[tuple[int, str]] = field(default_factory=list)  # (row, stated currency)


@dataclass(slots=True)
class ParsedFile:
    spec: FormatSpec
    data_rows: int = 0
    holdings: dict[str, Holding] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    closed: dict[str, list[int]] = field(default_factory=dict)  # sold out within the file
    named: set[str] = field(default_factory=set)  # every symbol a row names, good row or bad
    skipped: Counter[str] = field(default_factory=Counter)  # rows that hold no position, why

    def problem(self, row: int, code: RowProblemCode, message: str) -> None:
        self.problems.append(RowProblem(row, code, message))

    @property
    def symbols(self) -> list[str]:
        return sorted(self.holdings)
