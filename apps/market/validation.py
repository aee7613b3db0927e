"""Checks every quote before it is saved: a bad quote is refused with its reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from apps.market.providers.base import Quote

# A move beyond these factors between two saved quotes is a unit or data error, not a market
# (a GBp price read as GBP is 100x).
MAX_JUMP_FACTOR = Decimal(5)
# Yahoo reports previous closes near zero for some indices: refuse them.
MIN_PREVIOUS_CLOSE_RATIO = Decimal("0.05")
MAX_CLOCK_SKEW = timedelta(minutes=5)


def quote_problem(quote: Quote, *, last_price: Decimal | None, now: datetime) -> str | None:
    """The reason the quote must not be saved, or None when it is fine."""
    prices = (quote.price, quote.previous_close, quote.day_high, quote.day_low)
    if any(value is not None and not value.is_finite() for value in prices):
        return "price is not a finite number"
    if quote.price <= 0:
        return f"price {quote.price} is not positive"
    if quote.day_high is not None and quote.day_low is not None:
        if quote.day_low <= 0:
            return f"day low {quote.day_low} is not positive"
        if quote.day_high < quote.day_low:
            return f"day high {quote.day_high} is below day low {quote.day_low}"
    if quote.previous_close is not None and (
        quote.previous_close <= 0 or quote.previous_close < quote.price * MIN_PREVIOUS_CLOSE_RATIO
    ):
        return f"previous close {quote.previous_close} is near zero against price {quote.price}"
    if last_price and not (
        last_price / MAX_JUMP_FACTOR <= quote.price <= last_price * MAX_JUMP_FACTOR
    ):
        return f"price jumped from {last_price} to {quote.price}"
    if quote.quote_time > now + MAX_CLOCK_SKEW:
        return f"quote time {quote.quote_time.isoformat()} is in the future"
    if quote.volume is not None and quote.volume < 0:
        return f"volume {quote.volume} is negative"
    return None
