"""Files that list positions, one row per symbol: ours, and IBKR's Open Positions report.

IBKR's report may add lot rows under each summary row (LevelOfDetail LOT): the summary is
the position, its lots are skipped. Its cash balances (AssetClass CASH) are not positions;
options, futures and the like are refused by name rather than held as shares.
"""

from __future__ import annotations

from decimal import Decimal

from apps.portfolios.imports.formats import FormatSpec, ImportFormat
from apps.portfolios.imports.parsed import CellProblem, Holding, ParsedFile, RowProblemCode
from apps.portfolios.imports.reading import Table
from apps.portfolios.imports.rows import Row, data_rows, extra_values_check
from apps.portfolios.imports.values import (
    cost_fit,
    currency_read,
    number_read,
    quantity_fit,
    symbol_read,
)

IBKR_HELD_CLASSES = {"STK", "FUND"}


def positions_parse(table: Table, spec: FormatSpec) -> ParsedFile:
    parsed = ParsedFile(spec)
    columns = spec.columns_found(table.header)
    first_row: dict[str, int] = {}  # symbol -> the row that named it first
    lots: dict[str, int] = {}  # IBKR: symbol -> its first lot row
    for row in data_rows(table, columns, parsed):
        if spec.format is ImportFormat.IBKR_POSITIONS and _ibkr_row_skipped(row, lots):
            continue
        _position_read(row, first_row)
    for symbol, number in lots.items():
        if symbol not in first_row:
            parsed.problem(
                number,
                RowProblemCode.UNSUPPORTED,
                f"{symbol} has lot rows but no summary row: include the Summary level of "
                "detail in the Flex query.",
            )
    return parsed


def _position_read(row: Row, first_row: dict[str, int]) -> None:
    symbol = row.read("symbol", symbol_read)
    quantity = row.read("quantity", position_quantity_read)
    cost = row.read("cost_basis", cost_basis_read)
    currency = row.read("currency", currency_read) if "currency" in row.columns else None
    extra_values_check(row)
    if symbol is None:
        return
    row.parsed.named.add(symbol)
    if symbol in first_row:
        row.fail(
            RowProblemCode.DUPLICATE_SYMBOL,
            f"{symbol} is already on row {first_row[symbol]}: give each symbol one row.",
        )
        return
    first_row[symbol] = row.number
    if row.failed or quantity is None or cost is None:
        return
    stated = [(row.number, currency)] if currency else []
    row.parsed.holdings[symbol] = Holding(symbol, quantity, cost, [row.number], stated)


def position_quantity_read(text: str, column: str) -> Decimal:
    value = number_read(text, column)
    if value <= 0:
        raise CellProblem(
            RowProblemCode.QUANTITY_NOT_POSITIVE,
            f"{column} is {value:f}: a position holds more than 0 (short positions are not "
            "held here; to remove a position, delete it on the portfolio page).",
        )
    return quantity_fit(value, column)


def cost_basis_read(text: str, column: str) -> Decimal:
    value = number_read(text, column)
    if value < 0:
        raise CellProblem(
            RowProblemCode.COST_NEGATIVE,
            f"{column} is {value:f}: the total paid for the quantity is 0 or more.",
        )
    return cost_fit(value, column)


def _ibkr_row_skipped(row: Row, lots: dict[str, int]) -> bool:
    asset_class = row.text("asset_class").upper()
    if asset_class == "CASH":
        row.parsed.skipped["cash balances (AssetClass CASH)"] += 1
        return True
    if asset_class and asset_class not in IBKR_HELD_CLASSES:
        row.fail(
            RowProblemCode.UNSUPPORTED,
            f"{row.text('symbol') or 'This row'} is of AssetClass {asset_class}: only stocks, "
            "ETFs and funds (STK, FUND) are held here.",
        )
        return True
    if row.text("detail").upper() == "LOT":
        lots.setdefault(row.text("symbol").upper(), row.number)
        row.parsed.skipped["lot rows (detail of a summary row)"] += 1
        return True
    return False
