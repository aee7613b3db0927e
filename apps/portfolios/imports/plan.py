"""A parsed file against a portfolio: what applying it would create, change, leave unchanged
and leave alone, and every problem that stops it (by row).

Built for the dry run and built again, under the portfolio's lock, when the file is applied:
the fingerprint of what the dry run showed must match what would be written, or nothing is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from apps.market.models import Asset
from apps.market.requests import LookupStatus, SymbolCheck
from apps.portfolios.imports.formats import FormatSpec
from apps.portfolios.imports.parsed import (
    CellProblem,
    Holding,
    ParsedFile,
    RowProblem,
    RowProblemCode,
)
from apps.portfolios.imports.values import cost_fit, quantity_fit
from apps.portfolios.models import Position


class ImportMode(StrEnum):
    REPLACE = "replace"
    ADD = "add"


MODE_LABELS = {
    ImportMode.REPLACE: "Replace each position with the file's (default)",
    ImportMode.ADD: "Add the file's quantity and cost to each position",
}


class _Asset(NamedTuple):
    id: int
    name: str
    currency: str
    active: bool


class _Held(NamedTuple):
    position_id: int
    symbol: str
    name: str
    currency: str
    quantity: Decimal
    cost_basis: Decimal


@dataclass(frozen=True, slots=True)
class PlannedPosition:
    """A position as the file would leave it; `old_*` are None for a new one."""

    symbol: str
    name: str
    currency: str
    asset_id: int
    position_id: int | None
    old_quantity: Decimal | None
    old_cost_basis: Decimal | None
    quantity: Decimal
    cost_basis: Decimal
    rows: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Closed:
    """A symbol the file buys and sells out again: nothing to hold, any position untouched."""

    symbol: str
    rows: tuple[int, ...]
    held: bool


@dataclass(slots=True)
class ImportPlan:
    spec: FormatSpec
    mode: ImportMode
    data_rows: int
    created: list[PlannedPosition] = field(default_factory=list)
    changed: list[PlannedPosition] = field(default_factory=list)
    unchanged: list[PlannedPosition] = field(default_factory=list)
    left_alone: list[_Held] = field(default_factory=list)
    closed: list[Closed] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def writes(self) -> list[PlannedPosition]:
        return [*self.created, *self.changed]

    @property
    def can_apply(self) -> bool:
        return not self.problems and bool(self.writes)

    @property
    def fingerprint(self) -> str:
        """What applying would write, from what: a change between dry run and apply shows."""
        lines = [self.mode.value, self.spec.format.value]
        for p in sorted(self.writes, key=lambda planned: planned.symbol):
            values = (p.old_quantity, p.old_cost_basis, p.quantity, p.cost_basis)
            lines.append(" ".join([p.symbol, *(_plain(value) for value in values)]))
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def symbols_unknown(symbols: list[str]) -> list[str]:
    """The symbols no asset has yet: these need a lookup before they can be held."""
    known = set(Asset.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))
    return [symbol for symbol in symbols if symbol not in known]


def import_plan_build(
    *,
    portfolio_id: int,
    parsed: ParsedFile,
    mode: ImportMode,
    checks: Mapping[str, SymbolCheck] | None = None,
) -> ImportPlan:
    """Compare the file with the portfolio (two reads); `checks` are lookups of new symbols."""
    assets = _assets_read(parsed.symbols)
    held = _held_read(portfolio_id)
    plan = ImportPlan(parsed.spec, mode, parsed.data_rows, problems=list(parsed.problems))
    plan.skipped = sorted(parsed.skipped.items())
    for symbol in parsed.symbols:
        holding = parsed.holdings[symbol]
        problems = _asset_problems(holding, assets.get(symbol), (checks or {}).get(symbol))
        if problems:
            plan.problems += problems
            continue
        try:
            planned = _planned(holding, assets[symbol], held.get(symbol), mode)
        except CellProblem as problem:
            plan.problems.append(RowProblem(holding.rows[0], problem.code, problem.message))
            continue
        if planned.position_id is None:
            plan.created.append(planned)
        elif (planned.quantity, planned.cost_basis) == (
            planned.old_quantity,
            planned.old_cost_basis,
        ):
            plan.unchanged.append(planned)
        else:
            plan.changed.append(planned)
    plan.closed = [
        Closed(symbol, tuple(rows), symbol in held)
        for symbol, rows in sorted(parsed.closed.items())
    ]
    plan.left_alone = [
        position
        for symbol, position in sorted(held.items())
        if symbol not in parsed.named and symbol not in parsed.closed
    ]
    plan.problems.sort(key=lambda problem: problem.row)
    return plan


def _assets_read(symbols: list[str]) -> dict[str, _Asset]:
    rows = Asset.objects.filter(symbol__in=symbols).values_list(
        "symbol", "id", "name", "currency", "is_active"
    )
    return {
        symbol: _Asset(pk, name, currency, active) for symbol, pk, name, currency, active in rows
    }


def _held_read(portfolio_id: int) -> dict[str, _Held]:
    rows = (
        Position.objects.filter(portfolio_id=portfolio_id)
        .order_by("asset__symbol")
        .values_list(
            "id", "asset__symbol", "asset__name", "asset__currency", "quantity", "cost_basis"
        )
    )
    return {row[1]: _Held(*row) for row in rows}


def _planned(
    holding: Holding, asset: _Asset, held: _Held | None, mode: ImportMode
) -> PlannedPosition:
    quantity, cost = holding.quantity, holding.cost_basis
    if held is not None and mode is ImportMode.ADD:
        quantity = quantity_fit(held.quantity + quantity, f"{holding.symbol}'s new quantity")
        cost = cost_fit(held.cost_basis + cost, f"{holding.symbol}'s new cost basis")
    return PlannedPosition(
        symbol=holding.symbol,
        name=asset.name,
        currency=asset.currency,
        asset_id=asset.id,
        position_id=held.position_id if held else None,
        old_quantity=held.quantity if held else None,
        old_cost_basis=held.cost_basis if held else None,
        quantity=quantity,
        cost_basis=cost,
        rows=tuple(holding.rows),
    )


def _asset_problems(
    holding: Holding, asset: _Asset | None, check: SymbolCheck | None
) -> list[RowProblem]:
    symbol, first = holding.symbol, holding.rows[0]
    where = _rows_note(holding.rows)
    if asset is None and check is not None and check.status is LookupStatus.UNKNOWN:
        message = (
            f"{symbol} is not a symbol our price sources know ({check.reason}){where}: check "
            "the ticker, as Yahoo Finance writes it (AAPL, SAP.DE, BTC-USD)."
        )
        return [RowProblem(first, RowProblemCode.UNKNOWN_SYMBOL, message)]
    if asset is None:
        why = f" (it could not be looked up: {check.reason})" if check is not None else ""
        message = (
            f"{symbol} is not known here{why}{where}; add it first (Add position on the "
            "portfolio page), then import the file again."
        )
        return [RowProblem(first, RowProblemCode.NOT_KNOWN_HERE, message)]
    if not asset.active:
        message = f"{symbol} is no longer priced here (its asset is inactive){where}."
        return [RowProblem(first, RowProblemCode.INACTIVE_SYMBOL, message)]
    return [
        RowProblem(row, RowProblemCode.CURRENCY_MISMATCH, _mismatch(symbol, asset, currency))
        for row, currency in holding.currencies
        if currency != asset.currency
    ]


def _mismatch(symbol: str, asset: _Asset, currency: str) -> str:
    return (
        f"{symbol} is priced in {asset.currency} here, but this row's amounts are in "
        f"{currency}: give them in {asset.currency}, or leave the currency empty if they "
        "already are."
    )


def _rows_note(rows: list[int]) -> str:
    if len(rows) < 2:
        return ""
    others = ", ".join(str(row) for row in rows[1:11])
    more = f" and {len(rows) - 11} more" if len(rows) > 11 else ""
    return f" (also on rows {others}{more})"


def _plain(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f}"
