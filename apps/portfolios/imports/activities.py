"""Activity histories (Ghostfolio, Wealthfolio): each position is the net of its trades.

Trades are taken in date order (rows of one date in file order, or reversed when the file
runs newest first, as broker exports often do). The cost basis follows the average-cost
method: a buy adds quantity x unit price + fee; a sale takes away its share of the cost
so far (cost x sold / held), so the average cost per unit is unchanged by a sale. A symbol
sold out within the file is reported as closed, not held. Rows that move only cash
(dividends, fees, deposits) hold no position and are counted, not read.

Anything that would change units in a way we do not model (splits, reinvested dividends,
staking rewards, adjustments) is refused by row rather than imported wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from enum import Enum

from apps.portfolios.imports.formats import FormatSpec, ImportFormat
from apps.portfolios.imports.parsed import CellProblem, Holding, ParsedFile, RowProblemCode
from apps.portfolios.imports.reading import Table
from apps.portfolios.imports.rows import Row, data_rows, extra_values_check
from apps.portfolios.imports.values import (
    cost_fit,
    currency_read,
    date_read,
    number_read,
    quantity_fit,
    symbol_read,
)


class Direction(Enum):
    IN = "in"
    OUT = "out"


GHOSTFOLIO_TRADES = {"buy": Direction.IN, "sell": Direction.OUT}
GHOSTFOLIO_CASH = {"dividend", "fee", "interest", "liability", "item"}
WEALTHFOLIO_TRADES = {
    "BUY": Direction.IN, "ADD_HOLDING": Direction.IN, "TRANSFER_IN": Direction.IN,
    "SELL": Direction.OUT, "REMOVE_HOLDING": Direction.OUT, "TRANSFER_OUT": Direction.OUT,
}  # fmt: skip
WEALTHFOLIO_CASH = {"DIVIDEND", "INTEREST", "DEPOSIT", "WITHDRAWAL", "FEE", "TAX", "CREDIT"}
WEALTHFOLIO_UNSUPPORTED = {
    "SPLIT": "stock splits are not applied by an import",
    "ADJUSTMENT": "adjustments are not applied by an import",
}
# Subtypes of a cash activity that also bring units in (DRIP, staking, dividend in kind).
UNIT_SUBTYPE_MARKS = ("DRIP", "STAKING", "IN_KIND")
FIX_BY_HAND = "remove the row and set the position's quantity by hand after the import"


@dataclass(frozen=True, slots=True)
class Trade:
    row: int
    when: datetime
    symbol: str
    direction: Direction
    quantity: Decimal
    cost: Decimal  # what an IN paid: quantity x unit price + fee; 0 for an OUT
    currency: str | None


@dataclass(slots=True)
class _Book:
    quantity: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    rows: list[int] = field(default_factory=list)
    currencies: list[tuple[int, str]] = field(default_factory=list)


def activities_parse(table: Table, spec: FormatSpec) -> ParsedFile:
    parsed = ParsedFile(spec)
    columns = spec.columns_found(table.header)
    direction_of = (
        _ghostfolio_direction if spec.format is ImportFormat.GHOSTFOLIO else _wealthfolio_direction
    )
    trades: list[Trade] = []
    tainted: set[str] = set()  # symbols with a bad row: their net would be wrong anyway
    for row in data_rows(table, columns, parsed):
        direction = direction_of(row)
        trade = _trade_read(row, direction) if direction is not None else None
        if trade is not None:
            trades.append(trade)
        elif row.failed and row.text("symbol"):
            tainted.add(row.text("symbol").upper())
            parsed.named.add(row.text("symbol").upper())
    trades_net(trades, parsed, tainted)
    return parsed


def trades_net(trades: list[Trade], parsed: ParsedFile, tainted: set[str]) -> None:
    """Each symbol's net quantity and average cost, into `parsed` (holdings or closed)."""
    newest_first = len(trades) > 1 and trades[0].when > trades[-1].when
    ordered = sorted(trades, key=lambda t: (t.when, -t.row if newest_first else t.row))
    books: dict[str, _Book] = {}
    with localcontext() as context:
        context.prec = 60  # exact for any quantity x price the model can hold
        for trade in ordered:
            if trade.symbol in tainted:
                continue
            book = books.setdefault(trade.symbol, _Book())
            if not _book_trade(book, trade, parsed):
                tainted.add(trade.symbol)
    for symbol, book in books.items():
        if symbol not in tainted:
            _holding_keep(parsed, symbol, book)


def _book_trade(book: _Book, trade: Trade, parsed: ParsedFile) -> bool:
    book.rows.append(trade.row)
    if trade.currency:
        book.currencies.append((trade.row, trade.currency))
    if trade.direction is Direction.IN:
        book.quantity += trade.quantity
        book.cost += trade.cost
        return True
    if trade.quantity > book.quantity:
        parsed.problem(
            trade.row,
            RowProblemCode.OVERSOLD,
            f"Sells {trade.quantity:f} {trade.symbol} on {trade.when.date().isoformat()}, but "
            f"only {book.quantity:f} are held by then (rows taken in date order): a buy is "
            "missing from the file, or its date is wrong.",
        )
        return False
    book.cost = book.cost * (book.quantity - trade.quantity) / book.quantity
    book.quantity -= trade.quantity
    return True


def _holding_keep(parsed: ParsedFile, symbol: str, book: _Book) -> None:
    rows = sorted(book.rows)
    if book.quantity == 0:
        parsed.closed[symbol] = rows
        return
    try:
        quantity = quantity_fit(book.quantity, f"The net quantity of {symbol}")
        cost = cost_fit(book.cost, f"The cost basis of {symbol}")
    except CellProblem as problem:
        parsed.problem(rows[0], problem.code, problem.message)
        return
    parsed.holdings[symbol] = Holding(symbol, quantity, cost, rows, sorted(book.currencies))


def _trade_read(row: Row, direction: Direction) -> Trade | None:
    when = row.read("date", date_read)
    symbol = row.read("symbol", symbol_read)
    quantity = row.read("quantity", trade_quantity_read)
    cost = Decimal(0)
    if direction is Direction.IN:
        price = row.read("unit_price", amount_read)
        fee = row.read("fee", fee_read) if "fee" in row.columns else Decimal(0)
        if quantity is not None and price is not None and fee is not None:
            cost = quantity * price + fee
    currency = row.read("currency", currency_read) if "currency" in row.columns else None
    extra_values_check(row)
    if symbol is not None:
        row.parsed.named.add(symbol)
    if row.failed or when is None or symbol is None or quantity is None:
        return None
    return Trade(row.number, when, symbol, direction, quantity, cost, currency)


def trade_quantity_read(text: str, column: str) -> Decimal:
    """The units a trade moves; its sign is ignored (the activity says which way)."""
    value = abs(number_read(text, column))
    if value == 0:
        raise CellProblem(RowProblemCode.QUANTITY_NOT_POSITIVE, f"{column} is 0.")
    return quantity_fit(value, column)


def amount_read(text: str, column: str) -> Decimal:
    """A price or fee; its sign is ignored, as both trackers do (IBKR writes fees negative)."""
    return abs(number_read(text, column))


def fee_read(text: str, column: str) -> Decimal:
    return amount_read(text, column) if text else Decimal(0)


def _ghostfolio_direction(row: Row) -> Direction | None:
    kind = row.text("activity").lower()
    if kind in GHOSTFOLIO_TRADES:
        return GHOSTFOLIO_TRADES[kind]
    if kind in GHOSTFOLIO_CASH:
        row.parsed.skipped[f"{kind.upper()} (no position)"] += 1
        return None
    known = ", ".join(sorted(k.upper() for k in (*GHOSTFOLIO_TRADES, *GHOSTFOLIO_CASH)))
    row.fail(
        RowProblemCode.UNKNOWN_ACTIVITY,
        f"{row.name('activity')} “{row.text('activity')}” is not a Ghostfolio activity ({known}).",
    )
    return None


def _wealthfolio_direction(row: Row) -> Direction | None:
    kind = row.text("activity").upper().replace(" ", "_")
    subtype = row.text("subtype").upper().replace(" ", "_").replace("-", "_")
    symbol = row.text("symbol").upper()
    if kind in WEALTHFOLIO_UNSUPPORTED:
        row.fail(
            RowProblemCode.UNSUPPORTED, f"{kind}: {WEALTHFOLIO_UNSUPPORTED[kind]}; {FIX_BY_HAND}."
        )
        return None
    if kind in WEALTHFOLIO_CASH and any(mark in subtype for mark in UNIT_SUBTYPE_MARKS):
        row.fail(
            RowProblemCode.UNSUPPORTED,
            f"{kind} {subtype} brings units in, which an import does not apply; {FIX_BY_HAND}.",
        )
        return None
    if kind in WEALTHFOLIO_CASH or (
        kind in WEALTHFOLIO_TRADES and kind.startswith("TRANSFER") and _is_cash(symbol)
    ):
        row.parsed.skipped[f"{kind} (no position)"] += 1
        return None
    if kind in WEALTHFOLIO_TRADES:
        return WEALTHFOLIO_TRADES[kind]
    known = ", ".join(sorted({*WEALTHFOLIO_TRADES, *WEALTHFOLIO_CASH, *WEALTHFOLIO_UNSUPPORTED}))
    row.fail(
        RowProblemCode.UNKNOWN_ACTIVITY,
        f"{row.name('activity')} “{row.text('activity')}” is not a Wealthfolio activity type "
        f"({known}).",
    )
    return None


def _is_cash(symbol: str) -> bool:
    """Wealthfolio books cash to $CASH-<currency>, or leaves the symbol empty."""
    return not symbol or symbol.startswith("$CASH")
