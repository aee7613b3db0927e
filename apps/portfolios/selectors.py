"""Reads of holdings: for the pipeline (who holds what), the socket servers and the pages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import F, Max, Q, QuerySet
from django.db.models.expressions import RawSQL

from apps.market.models import Asset, AssetType
from apps.market.selectors import assets_saved_at, fx_pair_currencies, fx_pair_symbols
from apps.portfolios.models import Portfolio, Position


def ids_in(ids: Iterable[int]) -> list[int] | RawSQL:
    """Ids for an `__in` lookup: on PostgreSQL one array parameter. Listed one placeholder
    each, 10,000 watched portfolio ids cost a tick 0.3 s of CPU (Django building them, psycopg
    splitting them, PostgreSQL parsing them)."""
    ids = list(ids)
    if connections[router.db_for_read(Position)].vendor != "postgresql":
        return ids
    # No table named in it: it stays right inside a subquery Django relabels.
    return RawSQL("SELECT unnest(%s::bigint[])", (ids,))


def portfolio_ids_holding(
    symbols: Iterable[str], *, among: Iterable[int] | None = None
) -> QuerySet[Position, int]:
    """Portfolios with a position in any of the symbols (of those `among`), as a subquery."""
    # Without order_by(), Position's default ordering (portfolio owner and name, asset symbol)
    # joins two tables into the SELECT DISTINCT: evaluated as a list, each id came once per
    # matching position.
    holding = Position.objects.filter(asset__symbol__in=list(symbols))
    return _among(holding, among).values_list("portfolio_id", flat=True).order_by().distinct()


def portfolio_ids_affected(
    symbols: Iterable[str], *, among: Iterable[int] | None = None
) -> QuerySet[Position, int]:
    """Portfolios whose value any of the symbols changes (of those `among`), as a subquery:
    those holding one, and, for an FX pair among them, those holding an asset it may convert
    to their currency. `among` (the watched portfolios, say) is one parameter however long."""
    symbols = list(symbols)
    currencies = fx_pair_currencies(symbols)
    if not currencies:
        return portfolio_ids_holding(symbols, among=among)
    converted = (
        Q(asset__currency__in=currencies) | Q(portfolio__base_currency__in=currencies)
    ) & ~Q(asset__currency=F("portfolio__base_currency"))
    affected = Position.objects.filter(Q(asset__symbol__in=symbols) | converted)
    return _among(affected, among).values_list("portfolio_id", flat=True).order_by().distinct()


def _among(positions: QuerySet[Position], among: Iterable[int] | None) -> QuerySet[Position]:
    return positions if among is None else positions.filter(portfolio_id__in=ids_in(among))


def portfolios_prices_saved_newest(portfolio_ids: Iterable[int]) -> dict[int, datetime]:
    """When each portfolio's value last had an input saved: the newest `last_updated` of its
    positions' assets and of the FX pairs that may convert them. Two queries for any number
    of portfolios; portfolios with nothing saved yet are left out."""
    rows = (
        Position.objects.filter(portfolio_id__in=list(portfolio_ids))
        .values("portfolio_id", "portfolio__base_currency", "asset__currency")
        .annotate(newest=Max("asset__last_updated"))
        .order_by()
        .values_list("portfolio_id", "portfolio__base_currency", "asset__currency", "newest")
    )
    newest: dict[int, datetime] = {}
    conversions: dict[int, set[str]] = defaultdict(set)
    for portfolio_id, base, currency, saved in rows:
        _keep_later(newest, portfolio_id, saved)
        if currency != base:
            conversions[portfolio_id] |= fx_pair_symbols(currency, base)
    if conversions:
        fx_saved = assets_saved_at(set().union(*conversions.values()))
        for portfolio_id, symbols in conversions.items():
            for symbol in symbols:
                _keep_later(newest, portfolio_id, fx_saved.get(symbol))
    return newest


def _keep_later(newest: dict[int, datetime], key: int, moment: datetime | None) -> None:
    if moment is not None and (key not in newest or moment > newest[key]):
        newest[key] = moment


def portfolio_owned(*, user_id: int, portfolio_id: int) -> bool:
    """True only for the owner: a missing portfolio and another's look the same."""
    return Portfolio.objects.filter(pk=portfolio_id, owner_id=user_id).exists()


def portfolios_of_user(*, user_id: int) -> list[dict[str, Any]]:
    """What a page lists of each of the user's portfolios (values arrive over the socket)."""
    rows = Portfolio.objects.filter(owner_id=user_id).order_by("name", "id")
    return [dict(row) for row in rows.values("id", "name", "base_currency")]


# --- the portfolio pages -------------------------------------------------------------------


def portfolio_owned_get(*, user_id: int, portfolio_id: int) -> Portfolio | None:
    """The user's portfolio, or None: a missing portfolio and another's look the same."""
    return Portfolio.objects.filter(pk=portfolio_id, owner_id=user_id).first()


def position_owned_get(*, user_id: int, portfolio_id: int, position_id: int) -> Position | None:
    """A position of the user's portfolio (with its asset), or None."""
    positions = Position.objects.select_related("asset", "portfolio")
    return positions.filter(
        pk=position_id, portfolio_id=portfolio_id, portfolio__owner_id=user_id
    ).first()


def portfolio_name_taken(*, user_id: int, name: str, exclude_id: int | None = None) -> bool:
    """Whether the user has another portfolio of this name (as the unique constraint says)."""
    same = Portfolio.objects.filter(owner_id=user_id, name=name)
    return (same if exclude_id is None else same.exclude(pk=exclude_id)).exists()


def portfolio_holds(*, portfolio_id: int, symbol: str) -> bool:
    return Position.objects.filter(portfolio_id=portfolio_id, asset__symbol=symbol).exists()


def asset_listing(symbol: str) -> tuple[str, bool] | None:
    """(currency, active) of a known asset, or None when no such asset exists yet."""
    row = Asset.objects.filter(symbol=symbol).values_list("currency", "is_active").first()
    return (row[0], row[1]) if row else None


def assets_currencies() -> dict[str, str]:
    """Every active symbol's currency, for the form that adds a position (its cost label)."""
    return dict(Asset.objects.filter(is_active=True).values_list("symbol", "currency"))


def fx_pairs_lacking(*, currencies: Iterable[str], base_currency: str) -> list[str]:
    """The direct FX pairs (USDCHF=X) that would convert each currency to `base_currency`,
    for the currencies no pair converts yet: direct, inverse, or both legs through USD, as
    valuation's `fx_rate` looks them up. Priced or not: a pair that exists is refreshed."""
    wanted = {currency for currency in currencies if currency != base_currency}
    if not wanted:
        return []
    pairs = set(Asset.objects.filter(asset_type=AssetType.FX).values_list("symbol", flat=True))

    def converts(source: str, target: str) -> bool:
        return source == target or bool({f"{source}{target}=X", f"{target}{source}=X"} & pairs)

    return sorted(
        f"{currency}{base_currency}=X"
        for currency in wanted
        if not converts(currency, base_currency)
        and not (converts(currency, "USD") and converts("USD", base_currency))
    )
