"""Small factories for tests: the fewest fields that make a valid row."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from django.contrib.auth.models import User

from apps.market.models import Asset
from apps.portfolios.models import Portfolio, Position

_sequence = count(1)


def user_create(**fields: Any) -> User:
    fields.setdefault("username", f"user{next(_sequence)}")
    password = fields.pop("password", "a-long-test-password")
    return User.objects.create_user(password=password, **fields)


def asset_create(symbol: str = "AAPL", **fields: Any) -> Asset:
    fields.setdefault("name", f"{symbol} Inc.")
    return Asset.objects.create(symbol=symbol, **fields)


def asset_priced(
    symbol: str, price: str | None, previous: str | None = None, **fields: Any
) -> Asset:
    """An asset with a saved quote (price None: never priced)."""
    return asset_create(
        symbol,
        current_price=Decimal(price) if price is not None else None,
        previous_close=Decimal(previous) if previous is not None else None,
        **fields,
    )


def portfolio_create(owner: User | None = None, **fields: Any) -> Portfolio:
    fields.setdefault("name", f"Portfolio {next(_sequence)}")
    return Portfolio.objects.create(owner=owner or user_create(), **fields)


def position_create(
    portfolio: Portfolio, asset: Asset, quantity: str = "10", cost_basis: str = "1000"
) -> Position:
    return Position.objects.create(
        portfolio=portfolio,
        asset=asset,
        quantity=Decimal(quantity),
        cost_basis=Decimal(cost_basis),
    )
