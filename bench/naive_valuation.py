"""The textbook valuation, for comparison: one query per portfolio, sums in a Python loop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from apps.market.models import Asset, AssetType
from apps.portfolios.models import Portfolio

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Totals:
    total_value: Decimal
    daily_change: Decimal
    cost_basis: Decimal


def fx_table() -> dict[tuple[str, str], Decimal]:
    """Every priced pair and its inverse, read once (kinder to the loop than a query each)."""
    rates: dict[tuple[str, str], Decimal] = {}
    for asset in Asset.objects.filter(asset_type=AssetType.FX, current_price__isnull=False):
        pair, price = asset.symbol.removesuffix("=X"), asset.current_price
        if price:
            rates[(pair[:3], pair[3:])] = price
            rates.setdefault((pair[3:], pair[:3]), 1 / price)
    return rates


def portfolio_value_naive(portfolio: Portfolio, rates: dict[tuple[str, str], Decimal]) -> Totals:
    """Sum quantity x price per position, converting each position to the base currency."""
    total = change = cost = Decimal(0)
    for position in portfolio.positions.select_related("asset"):
        asset = position.asset
        price, previous = asset.current_price, asset.previous_close
        if price is None or previous is None:
            raise ValueError(f"{asset.symbol} has no price: the bench prices every asset")
        rate = (
            Decimal(1)
            if asset.currency == portfolio.base_currency
            else rates[(asset.currency, portfolio.base_currency)]
        )
        total += position.quantity * price * rate
        change += position.quantity * (price - previous) * rate
        cost += position.cost_basis * rate
    return Totals(total.quantize(CENT), change.quantize(CENT), cost.quantize(CENT))


def portfolios_value_naive(portfolio_ids: Iterable[int]) -> dict[int, Totals]:
    rates = fx_table()
    portfolios = Portfolio.objects.filter(id__in=list(portfolio_ids)).iterator(chunk_size=1000)
    return {portfolio.id: portfolio_value_naive(portfolio, rates) for portfolio in portfolios}
