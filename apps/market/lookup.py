"""Looking symbols up through the source chain: a new symbol becomes an asset only once a
source has priced it, so a mistyped ticker never turns into a row with no price (or 0).

A worker runs this (`workers.tasks.lookup_assets`); the pages ask through
`requests.assets_lookup_request` and never fetch anything themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from apps.market.catalog import DEMO_ASSETS
from apps.market.models import Asset, AssetType
from apps.market.pipeline import price_chain
from apps.market.providers.base import TRANSIENT_KINDS, Quote
from apps.market.providers.chain import ChainResult, ProviderChain
from apps.market.providers.deadline import Deadline
from apps.market.providers.universe import CRYPTO, ETFS, FX_PAIRS, INDICES, UNIVERSE
from apps.market.requests import LookupStatus, SymbolCheck
from apps.market.services import quotes_save
from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.market.validation import quote_problem

logger = logging.getLogger("personal_finance.realtime.lookup")

# The sources' share of a lookup: the asker waits a few seconds, not a batch's budget.
LOOKUP_BUDGET_SECONDS = 8.0
CATALOG = {item.symbol: item for item in DEMO_ASSETS}
CRYPTO_QUOTES = {"USD", "EUR", "GBP", "USDT"}


def assets_lookup(
    *,
    symbols: Sequence[str],
    chain: ProviderChain | None = None,
    budget_seconds: float = LOOKUP_BUDGET_SECONDS,
) -> dict[str, SymbolCheck]:
    """Which of the symbols exist, asking the sources once about those not known yet.

    A known asset is FOUND at once. A new symbol a source prices (through its lookup path)
    is created as an asset, with the currency of its quote, and the quote is saved; one the
    sources do not list is UNKNOWN; one only a failing source (or the deadline) could have
    answered is FAILED, to be tried again. Keys are the symbols as given.
    """
    checks: dict[str, SymbolCheck] = {}
    wanted: dict[str, str] = {}  # normalised -> as given
    for raw in symbols:
        try:
            wanted[symbol_normalize(raw)] = raw
        except InvalidSymbol as error:
            checks[raw] = SymbolCheck(LookupStatus.UNKNOWN, str(error))
    known = set(Asset.objects.filter(symbol__in=list(wanted)).values_list("symbol", flat=True))
    new = [symbol for symbol in wanted if symbol not in known]
    found: dict[str, SymbolCheck] = dict.fromkeys(known, SymbolCheck(LookupStatus.FOUND))
    if new:
        result = (chain or price_chain()).lookup(new, deadline=Deadline.after(budget_seconds))
        found |= _new_assets_save(new, result)
        logger.info("lookup: %s", {symbol: check.status.value for symbol, check in found.items()})
    return checks | {wanted[symbol]: check for symbol, check in found.items()}


def _new_assets_save(symbols: Sequence[str], result: ChainResult) -> dict[str, SymbolCheck]:
    now = datetime.now(UTC)
    checks: dict[str, SymbolCheck] = {}
    usable: list[Quote] = []
    for symbol in symbols:
        quote = result.quotes.get(symbol)
        if quote is not None:
            problem = quote_problem(quote, last_price=None, now=now)
            if problem is None:
                usable.append(quote)
            else:  # never an asset with a bad first price; a later lookup may do better
                checks[symbol] = SymbolCheck(LookupStatus.FAILED, f"{quote.source}: {problem}")
        elif any(f.kind in TRANSIENT_KINDS for f in result.failures.get(symbol, [])):
            checks[symbol] = SymbolCheck(LookupStatus.FAILED, result.failure_reason(symbol))
        else:
            checks[symbol] = SymbolCheck(LookupStatus.UNKNOWN, result.failure_reason(symbol))
    # Two lookups of one new symbol at once: the second finds the row there and keeps it.
    Asset.objects.bulk_create([_asset_of(quote) for quote in usable], ignore_conflicts=True)
    saved = quotes_save(quotes=usable)
    for quote in usable:
        refused = saved.rejected.get(quote.symbol)
        checks[quote.symbol] = (
            SymbolCheck(LookupStatus.FAILED, f"{quote.source}: {refused}")
            if refused
            else SymbolCheck(LookupStatus.FOUND)
        )
    return checks


def _asset_of(quote: Quote) -> Asset:
    item = CATALOG.get(quote.symbol)
    return Asset(
        symbol=quote.symbol,
        name=item.name if item else UNIVERSE.get(quote.symbol, ""),
        asset_type=item.asset_type if item else asset_type_of(quote.symbol),
        exchange=item.exchange if item else "",
        currency=quote.currency,
    )


def asset_type_of(symbol: str) -> AssetType:
    """The kind of a new asset: from the simulated universe's lists, else the symbol's shape."""
    if symbol in ETFS:
        return AssetType.ETF
    if symbol in INDICES or symbol.startswith("^"):
        return AssetType.INDEX
    if symbol in FX_PAIRS or symbol.endswith("=X"):
        return AssetType.FX
    if symbol in CRYPTO or symbol.rpartition("-")[2] in CRYPTO_QUOTES:
        return AssetType.CRYPTO
    return AssetType.STOCK
