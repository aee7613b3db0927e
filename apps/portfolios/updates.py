"""The `portfolio_update` message: built from a Valuation, encoded once, cached for snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache

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


def portfolio_cache_key(portfolio_id: int) -> str:
    return f"portfolio_update:{portfolio_id}"


def portfolio_frames_build(valuations: Sequence[Valuation]) -> list[tuple[str, str]]:
    return [
        (
            portfolio_group(v.portfolio_id),
            frame_encode("portfolio_update", portfolio_update_data(v)),
        )
        for v in valuations
    ]


def portfolio_snapshots_store(
    valuations: Sequence[Valuation], frames: Sequence[tuple[str, str]]
) -> None:
    cache.set_many(
        {
            portfolio_cache_key(v.portfolio_id): text
            for v, (_, text) in zip(valuations, frames, strict=True)
        },
        timeout=settings.REALTIME_CACHE_TIMEOUT,
    )


def portfolio_snapshot_get(portfolio_id: int) -> str | None:
    value = cache.get(portfolio_cache_key(portfolio_id))
    return value if isinstance(value, str) else None
