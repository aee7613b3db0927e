"""The alert rules in Python: when a reading fires an armed alert, and when it re-arms a
fired one (`apps/alerts/evaluation.py` applies the same rules in SQL, and checks both agree).

Both multiply out instead of dividing (price x 100 against threshold x (100 - margin)), so
neither rounds. Only a current value is a reading: a missing or stale price, an incomplete or
stale portfolio value is None, and None changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from enum import StrEnum

from apps.alerts.models import AlertCondition, AlertState
from apps.market.models import Asset
from apps.market.updates import asset_is_stale
from apps.portfolios.holdings import HeldValuation
from apps.portfolios.valuation import Valuation

HUNDRED = Decimal(100)
PERCENT = Decimal("0.0001")
PERCENT_LIMIT = Decimal("1e8")  # AlertEvent.change_percent holds 12 digits, 4 decimals
# Products of two 24-digit decimals must not round before they are compared.
PRECISION = 60


class Decision(StrEnum):
    FIRE = "fire"
    REARM = "rearm"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Reading:
    """A current value an alert is checked against, and the day's move: `change` since
    `base` (the previous close, or the portfolio's opening value); None when unknown."""

    value: Decimal
    change: Decimal | None = None
    base: Decimal | None = None

    @property
    def change_percent(self) -> Decimal | None:
        if self.change is None or not self.base:
            return None
        percent = (self.change / self.base * HUNDRED).quantize(PERCENT)
        return percent if abs(percent) < PERCENT_LIMIT else None


# --- the rules, in Python ----------------------------------------------------------------


def _move(reading: Reading) -> tuple[Decimal, Decimal] | None:
    """(|change| x 100, base): the day's move in percent is their quotient."""
    if reading.change is None or reading.base is None or reading.base <= 0:
        return None
    return abs(reading.change) * HUNDRED, reading.base


def crosses(*, condition: str, threshold: Decimal, reading: Reading) -> bool:
    """At or beyond the threshold now: at it counts ("rises to or above")."""
    if condition == AlertCondition.ABOVE:
        return reading.value >= threshold
    if condition == AlertCondition.BELOW:
        return reading.value <= threshold
    move = _move(reading)
    return move is not None and move[0] >= threshold * move[1]


def rearms(*, condition: str, threshold: Decimal, margin: Decimal, reading: Reading) -> bool:
    """Back inside the threshold by at least `margin` (percent of the threshold; percentage
    points for a move). On the margin's line counts; on the threshold itself never does."""
    value = reading.value
    if condition == AlertCondition.ABOVE:
        return value < threshold and value * HUNDRED <= threshold * (HUNDRED - margin)
    if condition == AlertCondition.BELOW:
        return value > threshold and value * HUNDRED >= threshold * (HUNDRED + margin)
    move = _move(reading)
    if move is None:
        return False
    moved, base = move
    # A margin as wide as the threshold leaves only a flat day (a new previous close).
    return moved < threshold * base and moved <= max(threshold - margin, Decimal(0)) * base


def alert_decision(
    *,
    state: str,
    paused: bool,
    condition: str,
    threshold: Decimal,
    margin: Decimal,
    reading: Reading | None,
) -> Decision:
    """What one alert does on one reading (None: no current value, so nothing changes)."""
    if paused or reading is None:
        return Decision.KEEP
    with localcontext(prec=PRECISION):
        if state == AlertState.ARMED and crosses(
            condition=condition, threshold=threshold, reading=reading
        ):
            return Decision.FIRE
        if state == AlertState.FIRED and rearms(
            condition=condition, threshold=threshold, margin=margin, reading=reading
        ):
            return Decision.REARM
    return Decision.KEEP


def asset_reading(asset: Asset, *, now: datetime, stale_after: float) -> Reading | None:
    """The saved price as an alert reads it; None when missing or stale."""
    price, previous = asset.current_price, asset.previous_close
    if price is None or asset_is_stale(asset, now=now, stale_after=stale_after):
        return None
    return Reading(price, None if previous is None else price - previous, previous)


def valuation_reading(valuation: Valuation) -> Reading | None:
    """A portfolio's value as an alert reads it; None unless complete and current (each
    position's price too: a held price older than the staleness threshold makes it stale)."""
    total, change = valuation.total_value, valuation.daily_change
    if total is None or not valuation.complete or valuation.stale:
        return None
    if isinstance(valuation, HeldValuation) and any(h.stale for h in valuation.holdings):
        return None
    if change is None:
        return Reading(total)
    return Reading(total, change, total - change - (valuation.value_unchanged or 0))
