"""The `portfolio_update` payload of a Valuation, and its frame (the stream contract encodes it)."""

from __future__ import annotations

from collections.abc import Sequence

from apps.portfolios.holdings import HeldValuation
from apps.portfolios.valuation import Valuation
from apps.streams.frames import portfolio_update_frame
from apps.streams.groups import GroupFrame
from apps.streams.payloads import PortfolioUpdate


def portfolio_update_payload(valuation: Valuation) -> PortfolioUpdate:
    """The guide's fields, plus currency, cost, gain, completeness and staleness (with why),
    and every position's figures when the valuation has them."""
    return PortfolioUpdate(
        portfolio_id=valuation.portfolio_id,
        name=valuation.name,
        total_value=valuation.total_value,
        daily_change=valuation.daily_change,
        daily_change_percent=valuation.daily_change_percent,
        currency=valuation.base_currency,
        cost_basis=valuation.cost_basis,
        unrealised_gain=valuation.unrealised_gain,
        positions=valuation.positions,
        complete=valuation.complete,
        missing=valuation.missing,
        stale=valuation.stale,
        stale_reason=valuation.stale_reason,
        as_of=valuation.as_of,
        holdings=valuation.holdings if isinstance(valuation, HeldValuation) else None,
    )


def portfolio_frames_build(valuations: Sequence[Valuation]) -> list[GroupFrame]:
    return [portfolio_update_frame(portfolio_update_payload(v)) for v in valuations]
