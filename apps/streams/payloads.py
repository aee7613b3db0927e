"""The `data` of each update message, field by field: the schema both sides agree on.

The guide's fields come first and keep their names; the rest are ours. Money stays `Decimal`
here and becomes a JSON number only when the frame is encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class AssetUpdate:
    """`asset_update`: the latest price of one symbol."""

    symbol: str
    price: Decimal | None
    change: Decimal | None
    change_percent: Decimal | None
    volume: int | None
    high: Decimal | None
    low: Decimal | None
    currency: str
    previous_close: Decimal | None
    source: str
    quote_time: datetime | None
    market_state: str | None
    stale: bool
    stale_reason: str | None


@dataclass(frozen=True, slots=True)
class PortfolioUpdate:
    """`portfolio_update`: the latest value of one portfolio, as of a stated time."""

    portfolio_id: int
    name: str
    total_value: Decimal | None
    daily_change: Decimal | None
    daily_change_percent: Decimal | None
    currency: str
    cost_basis: Decimal | None
    unrealised_gain: Decimal | None
    positions: int
    complete: bool
    missing: list[str]
    stale: bool
    as_of: datetime
