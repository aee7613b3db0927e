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


# Not frozen: built 100,000 times a tick with 10,000 watched portfolios, and a frozen
# dataclass's __init__ (object.__setattr__ per field) made that 3.3x slower.
@dataclass(slots=True, kw_only=True)
class PositionFigures:
    """One position of a `portfolio_update`, as of the portfolio's `as_of`.

    `price` is in the asset's `currency`; `value`, `daily_change`, `cost_basis` and
    `unrealised_gain` are in the portfolio's currency (converted at the rate the total uses).
    `weight` is the position's share (%) of the portfolio's known value. A figure whose inputs
    are unknown is None (null), never 0, and `missing` says why.
    """

    symbol: str
    name: str
    quantity: Decimal
    price: Decimal | None
    currency: str
    value: Decimal | None
    daily_change: Decimal | None
    daily_change_percent: Decimal | None
    cost_basis: Decimal | None
    unrealised_gain: Decimal | None
    weight: Decimal | None
    stale: bool
    stale_reason: str | None
    quote_time: datetime | None
    missing: list[str]
    position_id: int  # for links to the position's own pages


@dataclass(frozen=True, slots=True, kw_only=True)
class PortfolioUpdate:
    """`portfolio_update`: the latest value of one portfolio, as of a stated time.

    A figure none of whose inputs is known is None (null), never 0; `missing` says why.
    `stale` is true when an input is not current (`stale_reason` says which), also when a
    snapshot predates a price saved since (set by the socket server that forwards it).
    `holdings` lists every position (by symbol) where the pipeline pushes the portfolio; None
    where it was not computed (a value read for a report, not pushed).
    """

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
    stale_reason: str | None = None
    as_of: datetime
    holdings: list[PositionFigures] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertFired:
    """`alert`: one of the person's alerts fired (sent to every open socket of its owner).

    `target` is "symbol" (then `symbol` is set) or "portfolio" (then `portfolio_id`);
    `condition` is "above", "below" or "move" (daily move beyond +/- `threshold` %);
    `value` is the price or portfolio value that crossed, in `currency`, as of `as_of`;
    `change_percent` the day's move at that moment. `message` is one readable sentence.
    """

    alert_id: int
    event_id: int
    target: str
    symbol: str | None
    portfolio_id: int | None
    name: str
    condition: str
    threshold: Decimal
    value: Decimal
    change_percent: Decimal | None
    currency: str
    message: str
    fired_at: datetime
    as_of: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryReady:
    """`history_ready`: daily bars a chart asked for were fetched (or could not be); the page
    reads the series again. `ranges` are the chart ranges that now have data."""

    symbol: str
    bars: int
    ranges: list[str]
    error: str | None = None
