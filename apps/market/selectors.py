"""Reads of market data: for the pipeline, the commands and the socket servers alike."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from apps.market.feed import stale_after_seconds
from apps.market.models import Asset, AssetType
from apps.market.updates import asset_frames_build
from apps.streams.groups import GroupFrame
from apps.streams.watching import watched_symbols

FxRates = dict[tuple[str, str], tuple[Decimal, bool]]  # (from, to) -> (rate, stale)
FX_SYMBOL = re.compile(r"^([A-Z]{3})([A-Z]{3})=X$")  # EURUSD=X: 1 EUR in USD


def symbols_known(symbols: Iterable[str]) -> list[str]:
    """The given symbols that exist as active assets, upper-cased, sorted, without repeats."""
    wanted = {symbol.strip().upper() for symbol in symbols}
    rows = Asset.objects.filter(symbol__in=wanted, is_active=True)
    return sorted(rows.values_list("symbol", flat=True))


def symbols_unknown(symbols: Iterable[str]) -> list[str]:
    wanted = [symbol.strip().upper() for symbol in symbols]
    known = set(Asset.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
    return [symbol for symbol in dict.fromkeys(wanted) if symbol not in known]


def symbols_active() -> list[str]:
    """Every active symbol, sorted."""
    return sorted(Asset.objects.filter(is_active=True).values_list("symbol", flat=True))


def asset_frame_get(symbol: str) -> str | None:
    """The `asset_update` frame of the saved row: a snapshot when the cached one expired."""
    frames = asset_frames_get([symbol])
    return frames[0][1] if frames else None


def asset_frames_get(symbols: Iterable[str]) -> list[GroupFrame]:
    """The `asset_update` frames of the saved rows of these symbols (those with a price)."""
    assets = Asset.objects.filter(symbol__in=list(symbols), current_price__isnull=False)
    return asset_frames_build(list(assets))


def symbols_overdue(symbols: Iterable[str]) -> set[str]:
    """The given symbols whose last saved quote is older than the staleness threshold."""
    limit = datetime.now(UTC) - timedelta(seconds=stale_after_seconds())
    rows = Asset.objects.filter(symbol__in=list(symbols)).filter(
        Q(last_updated__isnull=True) | Q(last_updated__lt=limit)
    )
    return set(rows.values_list("symbol", flat=True))


def symbols_due(*, now: datetime | None = None) -> list[str]:
    """The active symbols worth refreshing now.

    Held in a position, watched recently, marked always-on, an FX pair (valuation needs
    them), or under a live price alert (it can fire only on a fresh price). Symbols whose
    market the source reported closed are refreshed only every REALTIME_CLOSED_MARKET_INTERVAL
    seconds, so a weekend does not burn the rate limit.
    """
    now = now or datetime.now(UTC)
    wanted = (
        Q(positions__isnull=False)
        | Q(always_refresh=True)
        | Q(asset_type=AssetType.FX)
        | Q(symbol__in=list(watched_symbols()))
        | Q(alerts__paused=False)
    )
    closed_recently = Q(market_state="closed") & Q(
        last_updated__gte=now - timedelta(seconds=settings.REALTIME_CLOSED_MARKET_INTERVAL)
    )
    rows = Asset.objects.filter(is_active=True).filter(wanted).exclude(closed_recently)
    return sorted(set(rows.values_list("symbol", flat=True)))


def fx_rates() -> FxRates:
    """(from, to) -> (rate, stale) for every priced FX pair and its inverse."""
    rates: FxRates = {}
    pairs = Asset.objects.filter(asset_type=AssetType.FX, current_price__isnull=False)
    for symbol, price, stale_reason in pairs.values_list("symbol", "current_price", "stale_reason"):
        pair = symbol.removesuffix("=X")
        if len(pair) != 6 or not price:
            continue
        base, quote = pair[:3], pair[3:]
        rates[(base, quote)] = (price, bool(stale_reason))
        rates.setdefault((quote, base), (1 / price, bool(stale_reason)))
    return rates


def fx_pair_symbols(source: str, target: str) -> set[str]:
    """The FX symbols whose rates can convert `source` to `target`: direct, inverse, or
    through USD (as valuation's `fx_rate` looks them up)."""
    pairs = {(source, target), (target, source)} | {
        pair for currency in (source, target) for pair in ((currency, "USD"), ("USD", currency))
    }
    return {f"{a}{b}=X" for a, b in pairs if a != b}


def fx_pair_currencies(symbols: Iterable[str]) -> set[str]:
    """The currencies of the FX pairs among `symbols` (EURUSD=X: EUR and USD)."""
    return {code for symbol in symbols if (m := FX_SYMBOL.match(symbol)) for code in m.groups()}


def assets_saved_at(symbols: Iterable[str]) -> dict[str, datetime]:
    """When each of the symbols last had a quote saved; never-saved ones are left out."""
    rows = Asset.objects.filter(symbol__in=list(symbols), last_updated__isnull=False)
    return {symbol: saved for symbol, saved in rows.values_list("symbol", "last_updated") if saved}
