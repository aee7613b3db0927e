"""The `portfolio_update` message: built from a Valuation, encoded once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.portfolios.valuation import Valuation
from apps.realtime.groups import frame_encode, portfolio_group


def portfolio_update_data(valuation: Valuation) -> dict[str, Any]:
    """The guide's fields, plus currency, cost, gain, completeness and staleness."""
    return {
        "portfolio_id": valuation.portfolio_id,
        "name": valuation.name,
        "total_value": valuation.total_value,
        "daily_change": valuation.daily_change,
        "daily_change_percent": valuation.daily_change_percent,
        "currency": valuation.base_currency,
        "cost_basis": valuation.cost_basis,
        "unrealised_gain": valuation.unrealised_gain,
        "positions": valuation.positions,
        "complete": valuation.complete,
        "missing": valuation.missing,
        "stale": valuation.stale,
        "as_of": valuation.as_of,
    }


def portfolio_frames_build(valuations: Sequence[Valuation]) -> list[tuple[str, str]]:
    return [
        (
            portfolio_group(v.portfolio_id),
            frame_encode("portfolio_update", portfolio_update_data(v)),
        )
        for v in valuations
    ]
