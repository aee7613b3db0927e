"""Reads of market data."""

from __future__ import annotations

from collections.abc import Iterable

from apps.market.models import Asset


def symbols_known(symbols: Iterable[str]) -> list[str]:
    """The given symbols that exist as active assets, upper-cased, sorted, without repeats."""
    wanted = {symbol.strip().upper() for symbol in symbols}
    rows = Asset.objects.filter(symbol__in=wanted, is_active=True)
    return sorted(rows.values_list("symbol", flat=True))


def symbols_unknown(symbols: Iterable[str]) -> list[str]:
    wanted = [symbol.strip().upper() for symbol in symbols]
    known = set(Asset.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
    return [symbol for symbol in dict.fromkeys(wanted) if symbol not in known]
