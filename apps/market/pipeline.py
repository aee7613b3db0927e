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
from typing import Any

from django.conf import settings

from apps.market.feed import heartbeat_record
from apps.market.providers.base import FailureKind
from apps.market.providers.chain import ChainResult, ProviderChain
from apps.market.providers.registry import providers_build
from apps.market.selectors import symbols_overdue
from apps.market.services import assets_mark_failed, quotes_save
from config.redis_client import redis_client, redis_key

logger = logging.getLogger("personal_finance.realtime.pipeline")


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
        heartbeat_record(symbols=summary.symbols, took=summary.took)
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
    overdue = symbols_overdue(summary.failed)
    assets_mark_failed(
        failures={s: r for s, r in summary.failed.items() if s in permanent or s in overdue},
        publish=publish,
    )
    return summary


def batches_split(symbols: Sequence[str], size: int) -> list[list[str]]:
    return [list(symbols[start : start + size]) for start in range(0, len(symbols), size)]
