"""Revaluation: value the portfolios a batch touched, push them, keep their snapshots."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from apps.portfolios.updates import portfolio_frames_build
from apps.portfolios.valuation import Valuation, portfolio_ids_holding, portfolios_value
from apps.realtime.publish import frames_publish_rollback_unsafe
from apps.realtime.snapshots import snapshots_store
from apps.realtime.watching import watched_portfolio_ids

logger = logging.getLogger("personal_finance.realtime.valuation")


def portfolios_revalue(*, symbols: Sequence[str], only_watched: bool = True) -> list[Valuation]:
    """Value and publish the portfolios holding any of `symbols`.

    With `only_watched`, portfolios nobody watches are skipped entirely: nobody would see the
    push, and a new subscriber gets a value computed on demand.
    """
    targets = portfolio_ids_holding(symbols)
    if only_watched:
        watched = watched_portfolio_ids()
        if not watched:
            return []
        targets = targets.filter(portfolio_id__in=watched)
    return _value_and_publish(targets)


def portfolio_revalue_now(*, portfolio_id: int) -> Valuation | None:
    """Value and publish one portfolio (after one of its positions changed)."""
    valuations = _value_and_publish([portfolio_id])
    return valuations[0] if valuations else None


def _value_and_publish(portfolio_ids: Iterable[int]) -> list[Valuation]:
    valuations = portfolios_value(portfolio_ids)
    frames = portfolio_frames_build(valuations)
    snapshots_store(frames)
    frames_publish_rollback_unsafe(frames)
    return valuations
