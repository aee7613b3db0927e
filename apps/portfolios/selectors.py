"""Reads of holdings: for the pipeline (who holds what), the socket servers and the pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from apps.portfolios.models import Portfolio, Position


def portfolio_ids_holding(symbols: Iterable[str]) -> QuerySet[Position, int]:
    """Portfolios with a position in any of the symbols, as a subquery."""
    # Without order_by(), Position's default ordering (portfolio owner and name, asset symbol)
    # joins two tables into the SELECT DISTINCT: evaluated as a list, each id came once per
    # matching position.
    return (
        Position.objects.filter(asset__symbol__in=list(symbols))
        .values_list("portfolio_id", flat=True)
        .order_by()
        .distinct()
    )


def portfolio_owned(*, user_id: int, portfolio_id: int) -> bool:
    """True only for the owner: a missing portfolio and another's look the same."""
    return Portfolio.objects.filter(pk=portfolio_id, owner_id=user_id).exists()


def portfolios_of_user(*, user_id: int) -> list[dict[str, Any]]:
    """What a page lists of each of the user's portfolios (values arrive over the socket)."""
    rows = Portfolio.objects.filter(owner_id=user_id).order_by("name", "id")
    return [dict(row) for row in rows.values("id", "name", "base_currency")]
