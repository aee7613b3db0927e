"""A portfolio's positions as a CSV file in our own import format, so an export imports back
unchanged: the same columns, numbers as the database holds them (no exponent, no trailing
zeros, a decimal point), the asset's currency named on every row."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from apps.portfolios.imports.formats import SPECS, ImportFormat
from apps.portfolios.models import Position

HEADER = SPECS[ImportFormat.POSITIONS].example_header.split(",")


def positions_csv_export(*, portfolio_id: int) -> str:
    rows = (
        Position.objects.filter(portfolio_id=portfolio_id)
        .order_by("asset__symbol")
        .values_list("asset__symbol", "quantity", "cost_basis", "asset__currency")
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for symbol, quantity, cost_basis, currency in rows:
        writer.writerow([symbol, decimal_plain(quantity), decimal_plain(cost_basis), currency])
    return out.getvalue()


def decimal_plain(value: Decimal) -> str:
    """1500, 0.25, 0: as a person types it, never 1.5E+3."""
    return f"{value.normalize():f}"
