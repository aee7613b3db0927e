"""One price batch end to end: fetch through the source chain, save, flag failures, heartbeat.

Celery tasks call these; so do the management commands, so a one-off update and the
scheduled feed behave the same.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from apps.market.models import Asset, AssetType
from apps.market.providers.base import FailureKind
from apps.market.providers.chain import ChainResult, ProviderChain
from apps.market.providers.registry import providers_build
from apps.market.services import assets_mark_failed, quotes_save
from apps.realtime.watching import watched_symbols
from config.redis_client import redis_client, redis_key

logger = logging.getLogger("personal_finance.realtime.pipeline")

HEARTBEAT_KEY = "pipeline:last_success"
TICK_KEY = "pipeline:last_tick"


@dataclass
class BatchSummary:
    symbols: int = 0
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    transient: list[str] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    retry_after: float | None = None
    took: float = 0.0
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def price_chain(source: str | None = None) -> ProviderChain:
    return ProviderChain(providers_build([source] if source else settings.PRICE_SOURCES))


def batch_lock_name(symbols: Sequence[str]) -> str:
    digest = hashlib.blake2b(",".join(sorted(symbols)).encode(), digest_size=10).hexdigest()
    return redis_key("lock", "batch", digest)


def price_batch_fetch(
    *,
    symbols: Sequence[str],
    source: str | None = None,
    publish: bool = True,
    lock_seconds: int = 120,
) -> BatchSummary:
    """Fetch, validate and save one batch; never the same batch twice at once (Redis lock)."""
    started = time.monotonic()
    lock = redis_client().lock(batch_lock_name(symbols), timeout=lock_seconds, blocking=False)
    if not lock.acquire():
        return BatchSummary(symbols=len(symbols), skipped="the same batch is already in flight")
    try:
        result = price_chain(source).quotes(symbols)
        summary = _save(result, symbols, publish=publish)
    finally:
        lock.release()
    summary.took = round(time.monotonic() - started, 3)
    if summary.changed or summary.unchanged:
        heartbeat_record(summary)
    return summary


def _save(result: ChainResult, symbols: Sequence[str], *, publish: bool) -> BatchSummary:
    saved = quotes_save(quotes=list(result.quotes.values()), publish=publish)
    summary = BatchSummary(
        symbols=len(symbols),
        changed=saved.changed,
        unchanged=saved.unchanged,
        older=saved.older,
        rejected=saved.rejected,
        failed={symbol: result.failure_reason(symbol) for symbol in result.failures},
        transient=result.transient_symbols,
        sources=dict(Counter(quote.source for quote in result.quotes.values())),
        retry_after=result.retry_after,
    )
    permanent = {
        symbol: reason
        for symbol, reason in summary.failed.items()
        if any(f.kind is not FailureKind.SOURCE_ERROR for f in result.failures[symbol])
    }
    overdue = _overdue(summary.failed)
    assets_mark_failed(
        failures={s: r for s, r in summary.failed.items() if s in permanent or s in overdue},
        publish=publish,
    )
    return summary


def _overdue(symbols: Sequence[str] | dict[str, str]) -> set[str]:
    """Symbols whose last saved quote is older than REALTIME_STALE_AFTER (or never saved)."""
    limit = datetime.now(UTC) - timedelta(seconds=settings.REALTIME_STALE_AFTER)
    rows = Asset.objects.filter(symbol__in=list(symbols)).filter(
        Q(last_updated__isnull=True) | Q(last_updated__lt=limit)
    )
    return set(rows.values_list("symbol", flat=True))


def heartbeat_record(summary: BatchSummary) -> None:
    cache.set(
        HEARTBEAT_KEY,
        {"at": time.time(), "symbols": summary.symbols, "took": summary.took},
        timeout=None,
    )


def heartbeat_age() -> float | None:
    """Seconds since a batch last saved prices, or None when none ever did."""
    beat = cache.get(HEARTBEAT_KEY)
    return time.time() - float(beat["at"]) if beat else None


def symbols_due(*, now: datetime | None = None) -> list[str]:
    """The active symbols worth refreshing now.

    Held in a position, watched recently, marked always-on, or an FX pair (valuation needs
    them). Symbols whose market the source reported closed are refreshed only every
    REALTIME_CLOSED_MARKET_INTERVAL seconds, so a weekend does not burn the rate limit.
    """
    now = now or datetime.now(UTC)
    wanted = (
        Q(positions__isnull=False)
        | Q(always_refresh=True)
        | Q(asset_type=AssetType.FX)
        | Q(symbol__in=list(watched_symbols()))
    )
    closed_recently = Q(market_state="closed") & Q(
        last_updated__gte=now - timedelta(seconds=settings.REALTIME_CLOSED_MARKET_INTERVAL)
    )
    rows = Asset.objects.filter(is_active=True).filter(wanted).exclude(closed_recently)
    return sorted(set(rows.values_list("symbol", flat=True)))


def batches_split(symbols: Sequence[str], size: int) -> list[list[str]]:
    return [list(symbols[start : start + size]) for start in range(0, len(symbols), size)]
