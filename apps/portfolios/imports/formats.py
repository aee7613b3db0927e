"""The CSV formats an import reads, each told apart by its header row.

Column names are compared without case, spaces, underscores or hyphens ("Cost Basis Money",
"cost_basis_money" and "CostBasisMoney" are one name). Columns a format does not name are
ignored, and so is their order. Where each format is published:

- ours (`positions`): symbol, quantity, cost_basis, currency; the README ("Import and
  export") documents it, and `export.py` writes it.
- Interactive Brokers Flex query, Open Positions section:
  https://www.ibkrguides.com/reportingreference/reportguide/open%20positionsfq.htm
- Wealthfolio's activities CSV: https://wealthfolio.app/docs/guide/csv-import, with the
  activity types of https://wealthfolio.app/docs/concepts/activity-types
- Ghostfolio's activities CSV: the column names its importer accepts,
  https://github.com/ghostfolio/ghostfolio/blob/main/apps/client/src/app/services/import-activities.service.ts
  (its sample: https://github.com/ghostfolio/ghostfolio/blob/main/test/import/ok.csv)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

_IGNORED_IN_NAMES = re.compile(r"[\s_\-]+")


class ImportFormat(StrEnum):
    POSITIONS = "positions"
    IBKR_POSITIONS = "ibkr-open-positions"
    WEALTHFOLIO = "wealthfolio"
    GHOSTFOLIO = "ghostfolio"


@dataclass(frozen=True, slots=True)
class Column:
    """One column a format reads: `field` is our name for it, `names` the header names it
    goes by (normalised), `shown` how the format writes it."""

    field: str
    names: tuple[str, ...]
    shown: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class FormatSpec:
    format: ImportFormat
    label: str
    holds_trades: bool  # an activity history (net of trades) rather than a list of positions
    columns: tuple[Column, ...]
    example_header: str

    def columns_found(self, header: Sequence[str]) -> dict[str, int]:
        """Field -> index of the first header cell naming it."""
        names = [header_name_normalise(cell) for cell in header]
        found: dict[str, int] = {}
        for column in self.columns:
            index = next((i for i, name in enumerate(names) if name in column.names), None)
            if index is not None:
                found[column.field] = index
        return found

    def columns_missing(self, header: Sequence[str]) -> list[str]:
        found = self.columns_found(header)
        return [c.shown for c in self.columns if c.required and c.field not in found]


def header_name_normalise(name: str) -> str:
    return _IGNORED_IN_NAMES.sub("", name.strip().lower())


def _column(field: str, *names: str, required: bool = True) -> Column:
    return Column(field, tuple(header_name_normalise(name) for name in names), names[0], required)


# In the order detection tries them (no two share all their required columns).
FORMATS: tuple[FormatSpec, ...] = (
    FormatSpec(
        ImportFormat.POSITIONS,
        "Positions (this site's own format, as exported)",
        holds_trades=False,
        columns=(
            _column("symbol", "symbol"),
            _column("quantity", "quantity"),
            _column("cost_basis", "cost_basis"),
            _column("currency", "currency", required=False),
        ),
        example_header="symbol,quantity,cost_basis,currency",
    ),
    FormatSpec(
        ImportFormat.IBKR_POSITIONS,
        "Interactive Brokers Flex query: Open Positions",
        holds_trades=False,
        columns=(
            _column("symbol", "Symbol"),
            _column("quantity", "Quantity"),
            _column("cost_basis", "CostBasisMoney"),
            _column("currency", "CurrencyPrimary", "Currency", required=False),
            _column("detail", "LevelOfDetail", required=False),
            _column("asset_class", "AssetClass", required=False),
        ),
        example_header="CurrencyPrimary,AssetClass,Symbol,Quantity,CostBasisMoney,LevelOfDetail",
    ),
    FormatSpec(
        ImportFormat.WEALTHFOLIO,
        "Wealthfolio activities",
        holds_trades=True,
        columns=(
            _column("date", "date"),
            _column("symbol", "symbol"),
            _column("quantity", "quantity"),
            _column("activity", "activityType"),
            _column("unit_price", "unitPrice"),
            _column("currency", "currency", required=False),
            _column("fee", "fee", required=False),
            _column("subtype", "subtype", required=False),
        ),
        example_header="date,symbol,quantity,activityType,unitPrice,currency,fee,amount",
    ),
    FormatSpec(
        ImportFormat.GHOSTFOLIO,
        "Ghostfolio activities",
        holds_trades=True,
        columns=(
            _column("date", "Date", "TradeDate"),
            _column("symbol", "Symbol", "Code", "Ticker"),
            _column("quantity", "Quantity", "Qty", "Shares", "Units"),
            _column("activity", "Type", "Action", "Buy/Sell"),
            _column("unit_price", "UnitPrice", "Price", "TradePrice", "Value"),
            _column("currency", "Currency", "Ccy", "CurrencyPrimary"),
            _column("fee", "Fee", "Commission", "IBCommission", required=False),
        ),
        example_header="Date,Code,Currency,Price,Quantity,Action,Fee,Note",
    ),
)
SPECS = {spec.format: spec for spec in FORMATS}


def format_detect(header: Sequence[str]) -> FormatSpec | None:
    """The first format whose required columns the header names, or None."""
    return next((spec for spec in FORMATS if not spec.columns_missing(header)), None)
