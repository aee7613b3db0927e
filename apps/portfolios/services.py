"""Revaluation: value the portfolios a batch touched, push them, keep their snapshots."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from apps.portfolios.requests import portfolio_revalue_started
from apps.portfolios.selectors import portfolio_ids_affected
from apps.portfolios.updates import portfolio_frames_build
from apps.portfolios.valuation import Valuation, portfolios_value
from apps.streams.publish import frames_publish_rollback_unsafe
from apps.streams.watching import watched_portfolio_ids

logger = logging.getLogger("personal_finance.realtime.valuation")


def portfolios_revalue(*, symbols: Sequence[str], only_watched: bool = True) -> list[Valuation]:
    """Value and publish the portfolios whose value any of `symbols` changes (held, or an FX
    pair converting what they hold).

    With `only_watched`, portfolios nobody watches are skipped entirely: nobody would see the
    push, and a new subscriber gets a value computed on demand (the snapshot it gets first is
    flagged stale when prices changed since it was computed).
    """
    targets = portfolio_ids_affected(symbols)
    if only_watched:
        watched = watched_portfolio_ids()
        if not watched:
            return []
        targets = targets.filter(portfolio_id__in=watched)
    return _value_and_publish(targets)


def portfolio_revalue_now(*, portfolio_id: int) -> Valuation | None:
    """Value and publish one portfolio (a subscriber asked, or one of its positions changed)."""
    portfolio_revalue_started(portfolio_id=portfolio_id)
    valuations = _value_and_publish([portfolio_id])
    return valuations[0] if valuations else None


def _value_and_publish(portfolio_ids: Iterable[int]) -> list[Valuation]:
    valuations = portfolios_value(portfolio_ids)
    # Valuing only reads committed rows: nothing to wait for.
    frames_publish_rollback_unsafe(portfolio_frames_build(valuations))
    return valuations
