"""Daily bars fetched through the source chain (with failover), saved, and announced.

A worker runs this for a chart that lacks bars (`workers.history_tasks.fetch_price_history`,
asked for through `requests.price_history_request`); `update_asset_prices --historical` runs
it too, so both fail over alike. When a symbol's fetch is settled, every asker's sockets get
`history_ready`: with the ranges that now have bars, or with `error`, so no chart waits on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import transaction

from apps.market.pipeline import fetch_seconds, price_chain
from apps.market.providers.base import Bar
from apps.market.providers.chain import HistoryResult, ProviderChain
from apps.market.providers.deadline import Deadline
from apps.market.requests import price_history_askers_take
from apps.market.series import bars_cover, bars_span, history_outcome_key, ranges_covered
from apps.market.services import bars_save
from apps.streams.frames import history_ready_frame
from apps.streams.groups import GroupFrame
from apps.streams.payloads import HistoryReady
from apps.streams.publish import frames_publish_rollback_unsafe
from config.redis_client import redis_client

logger = logging.getLogger("personal_finance.realtime.history")

# A span the sources cannot fill (a young listing) is not asked for again on every read
# before this; a failed fetch is tried again sooner.
SHORT_KEPT_SECONDS = 6 * 3600
FAILURE_KEPT_SECONDS = 600


@dataclass
class HistorySummary:
    symbols: int = 0
    fetched: int = 0  # bars the sources answered
    saved: int = 0  # bars written (upserted)
    refused: int = 0  # bars no price could be (low <= 0, high < low): never saved
    failed: dict[str, str] = field(default_factory=dict)  # symbol -> why it has no bars
    transient: list[str] = field(default_factory=list)  # failed for now: worth a retry
    retry_after: float | None = None
    sources: dict[str, int] = field(default_factory=dict)  # bars per source
    announced: int = 0  # `history_ready` messages sent
    took: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def price_history_fetch(
    *,
    symbols: Sequence[str],
    days: int,
    user_ids: Collection[int] = (),
    source: str | None = None,
    chain: ProviderChain | None = None,
    budget_seconds: float | None = None,
    last_try: bool = True,
) -> HistorySummary:
    """Fetch `days` days of bars for each symbol, save them, and tell whoever asked.

    The askers are those `price_history_request` recorded plus `user_ids`. A symbol that
    failed only for now (a source outage, the deadline) is announced only on the `last_try`;
    before that it stays in flight for the caller's retry. `chain` replaces the configured
    sources (tests); `budget_seconds` bounds the sources as a task's soft time limit does.
    """
    started = time.monotonic()
    wanted = list(dict.fromkeys(symbols))
    deadline = Deadline.after(fetch_seconds(budget_seconds)) if budget_seconds else None
    result = (chain or price_chain(source)).history(wanted, days, deadline=deadline)
    usable, refused = _bars_usable(result.bars)
    with transaction.atomic():
        saved = bars_save(bars=usable)
    summary = _summary(result, wanted, usable, saved=saved, refused=refused)
    settled = [s for s in wanted if last_try or s not in summary.transient]
    counts = {symbol: len(bars) for symbol, bars in usable.items()}
    frames = _settle(settled, days, summary.failed, user_ids, counts)
    transaction.on_commit(lambda: frames_publish_rollback_unsafe(frames))
    summary.announced = len(frames)
    summary.took = round(time.monotonic() - started, 3)
    logger.info(
        "history: %d symbols, %d days, %d bars saved, %d failed, %d askers told, took %.2fs",
        len(wanted), days, saved, len(summary.failed), len(frames), summary.took,
    )  # fmt: skip
    return summary


def price_history_abandon(
    *, symbol: str, days: int, reason: str, user_ids: Collection[int] = ()
) -> int:
    """Give a fetch up (it raised): its askers are told, so their charts stop loading."""
    frames = _settle([symbol], days, {symbol: reason}, user_ids, {})
    frames_publish_rollback_unsafe(frames)  # nothing was written
    return len(frames)


def _bars_usable(bars: Mapping[str, Sequence[Bar]]) -> tuple[dict[str, list[Bar]], int]:
    """The bars that can be prices (the database refuses the rest, and the batch with them)."""
    usable = {
        symbol: [b for b in symbol_bars if 0 < b.low <= b.high and b.open > 0 and b.close > 0]
        for symbol, symbol_bars in bars.items()
    }
    refused = sum(len(b) for b in bars.values()) - sum(len(b) for b in usable.values())
    return {symbol: kept for symbol, kept in usable.items() if kept}, refused


def _summary(
    result: HistoryResult, wanted: list[str], usable: dict[str, list[Bar]], *, saved: int,
    refused: int,
) -> HistorySummary:  # fmt: skip
    failed = {symbol: result.failure_reason(symbol) for symbol in result.failures}
    for symbol in result.bars:
        if symbol not in usable:
            failed[symbol] = "every bar the sources gave had an impossible price"
    return HistorySummary(
        symbols=len(wanted),
        fetched=sum(len(bars) for bars in result.bars.values()),
        saved=saved,
        refused=refused,
        failed=failed,
        transient=[s for s in result.transient_symbols if s not in usable],
        retry_after=result.retry_after,
        sources=dict(Counter(bar.source for bars in usable.values() for bar in bars)),
    )


def _settle(
    symbols: Sequence[str], days: int, failed: Mapping[str, str], user_ids: Collection[int],
    saved: Mapping[str, int],
) -> list[GroupFrame]:  # fmt: skip
    """Record how each symbol's fetch ended, end its in-flight mark, and build the
    `history_ready` frame of each of its askers."""
    today = datetime.now(UTC).date()
    frames: list[GroupFrame] = []
    for symbol in symbols:
        error = failed.get(symbol) or None
        _outcome_record(symbol, days, error=error, today=today)
        askers = price_history_askers_take(symbol=symbol, days=days) | set(user_ids)
        if not askers:
            continue
        ranges = [] if error else ranges_covered(symbol, today=today)
        ready = HistoryReady(symbol=symbol, bars=saved.get(symbol, 0),
                             ranges=[str(r) for r in ranges], error=error)  # fmt: skip
        frames += [history_ready_frame(user_id=user_id, ready=ready) for user_id in sorted(askers)]
    return frames


def _outcome_record(symbol: str, days: int, *, error: str | None, today: date) -> None:
    """Keep why a span is still not covered after its fetch, so reads do not ask again."""
    key = history_outcome_key(symbol, days)
    if error:
        redis_client().set(key, f"the daily bars could not be fetched: {error}"[:500],
                           ex=FAILURE_KEPT_SECONDS)  # fmt: skip
        return
    first, last = bars_span(symbol, days=days, today=today)
    if bars_cover(first, last, days=days, today=today):
        redis_client().delete(key)
        return
    have = f"from {first.isoformat()} to {last.isoformat()}" if first and last else "none"
    redis_client().set(key, f"the sources have daily bars {have} only", ex=SHORT_KEPT_SECONDS)
