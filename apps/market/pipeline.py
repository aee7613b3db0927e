"""One price batch end to end: fetch through the source chain, save, flag failures, heartbeat.

Celery tasks call these; so do the management commands, so a one-off update and the
scheduled feed behave the same.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from redis.commands.core import Script
from redis.exceptions import RedisError

from apps.market.feed import heartbeat_record
from apps.market.providers.base import Quote
from apps.market.providers.chain import ChainResult, ProviderChain
from apps.market.providers.deadline import Deadline
from apps.market.providers.registry import providers_shared
from apps.market.selectors import asset_frames_get, symbols_overdue
from apps.market.services import QuotesSaveResult, assets_mark_failed, quotes_save
from apps.streams.groups import asset_group
from apps.streams.publish import frames_publish_rollback_unsafe
from apps.streams.snapshots import snapshots_missing
from config.redis_client import redis_client, redis_key

logger = logging.getLogger("personal_finance.realtime.pipeline")

# Above the tasks' hard time limit (TASK_TIME_LIMIT): a batch still running when its locks
# expire would share its symbols with the next one; a killed task's locks outlive it briefly.
LOCK_SECONDS = settings.TASK_TIME_LIMIT + 30
# Of a task's time budget, what is kept after the fetch to save, flag and publish.
SAVE_RESERVE_SECONDS = 10.0
# A source that answers only with quotes older than the saved one (a fallback behind the
# primary's last quote) is not failing at first; this many batches in a row, it is.
OLDER_LIMIT = 3
OLDER_TTL = 86_400


@dataclass
class BatchSummary:
    symbols: int = 0
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    transient: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # another batch holds them: not fetched
    republished: list[str] = field(default_factory=list)  # unchanged, but their snapshot was gone
    sources: dict[str, int] = field(default_factory=dict)
    retry_after: float | None = None
    took: float = 0.0
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def price_chain(source: str | None = None) -> ProviderChain:
    return ProviderChain(providers_shared([source] if source else settings.PRICE_SOURCES))


def fetch_seconds(budget_seconds: float) -> float:
    """The share of a task's time budget the sources may use; the rest saves and flags."""
    return budget_seconds - min(SAVE_RESERVE_SECONDS, budget_seconds / 4)


def price_batch_cap(*, source: str | None = None, budget_seconds: float) -> int:
    """The most symbols one batch may hold for its sources to answer within the budget."""
    return price_chain(source).batch_cap(fetch_seconds(budget_seconds))


def symbol_lock_key(symbol: str) -> str:
    return redis_key("lock", "symbol", symbol)


# SET NX per symbol with one token and one expiry, in one step: two overlapping batches never
# both take a symbol, and neither waits for the other. A lock already holding the token is
# taken back: the same task run again after its worker died mid-batch.
_TAKE = """
local taken = {}
for index, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
    taken[#taken + 1] = index
  elseif redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    taken[#taken + 1] = index
  end
end
return taken
"""
# Only the locks still holding our token: one that expired and was taken since is not ours.
_RELEASE = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    released = released + redis.call('DEL', key)
  end
end
return released
"""


@dataclass(frozen=True)
class SymbolLocks:
    """The per-symbol locks one batch holds: a symbol is fetched by one batch at a time."""

    symbols: list[str]
    token: str

    @classmethod
    def take(
        cls, symbols: Sequence[str], *, seconds: float = LOCK_SECONDS, owner: str | None = None
    ) -> SymbolLocks:
        """Take the locks of the symbols that are free, or already held by `owner` (a task
        id: the same task run again); the others stay with their holder."""
        wanted = list(dict.fromkeys(symbols))
        token = owner or secrets.token_hex(8)
        if not wanted:
            return cls([], token)
        keys = [symbol_lock_key(symbol) for symbol in wanted]
        taken = _script(_TAKE)(keys, [token, int(seconds * 1000)])
        return cls([wanted[index - 1] for index in taken], token)

    def release(self) -> int:
        if not self.symbols:
            return 0
        keys = [symbol_lock_key(symbol) for symbol in self.symbols]
        return int(_script(_RELEASE)(keys, [self.token]))


@cache
def _script(lua: str) -> Script:
    """A Lua script run by its hash (EVALSHA), loaded once per process."""
    return redis_client().register_script(lua)


def price_batch_fetch(
    *,
    symbols: Sequence[str],
    source: str | None = None,
    publish: bool = True,
    budget_seconds: float | None = None,
    lock_seconds: float = LOCK_SECONDS,
    lock_owner: str | None = None,
    chain: ProviderChain | None = None,
) -> BatchSummary:
    """Fetch, validate and save one batch; a symbol another batch is fetching is left to it.

    With `budget_seconds` (a task's soft time limit) the sources stop starting requests in time
    to save what they priced; the symbols they did not reach come back as `transient`.
    `lock_owner` (the task id) lets a run of the same task again (its worker was killed
    mid-batch, the message redelivered) take back the locks the dead run still holds, instead
    of finding its own symbols in flight for LOCK_SECONDS. `chain` replaces the configured
    sources (tests, benchmarks).
    """
    started = time.monotonic()
    wanted = list(dict.fromkeys(symbols))
    deadline = Deadline.after(fetch_seconds(budget_seconds)) if budget_seconds else None
    locks = SymbolLocks.take(wanted, seconds=lock_seconds, owner=lock_owner)
    taken = set(locks.symbols)
    in_flight = [symbol for symbol in wanted if symbol not in taken]
    if in_flight and not taken:
        return BatchSummary(
            symbols=len(wanted), in_flight=in_flight, skipped="every symbol is already in flight"
        )
    try:
        result = (chain or price_chain(source)).quotes(locks.symbols, deadline=deadline)
        summary = _save(result, locks.symbols, publish=publish)
    finally:
        locks.release()
    summary.symbols, summary.in_flight = len(wanted), in_flight
    summary.took = round(time.monotonic() - started, 3)
    if summary.changed or summary.unchanged:
        heartbeat_record(symbols=summary.symbols, took=summary.took)
    return summary


def _save(result: ChainResult, symbols: Sequence[str], *, publish: bool) -> BatchSummary:
    saved = quotes_save(quotes=list(result.quotes.values()), publish=publish)
    failed = {symbol: result.failure_reason(symbol) for symbol in result.failures}
    summary = BatchSummary(
        symbols=len(symbols),
        changed=saved.changed,
        unchanged=saved.unchanged,
        older=saved.older,
        rejected=saved.rejected,
        failed=failed | _older_too_long(saved, result.quotes),
        transient=result.transient_symbols,
        sources=dict(Counter(quote.source for quote in result.quotes.values())),
        retry_after=result.retry_after,
        republished=_snapshots_heal(saved.unchanged) if publish else [],
    )
    retryable = set(summary.transient)
    overdue = symbols_overdue(failed)
    assets_mark_failed(
        failures={s: r for s, r in summary.failed.items() if s not in retryable or s in overdue},
        publish=publish,
    )
    return summary


def _snapshots_heal(symbols: Sequence[str]) -> list[str]:
    """Publish again the unchanged symbols whose snapshot Redis no longer holds.

    An unchanged price is not pushed, so after Redis lost its data (a restart, a flush), or a
    save whose publish met the outage, open sockets would wait for the next change (hours,
    in a closed market) and new ones would read the database. Checking costs one round trip
    per batch; an expired snapshot (REALTIME_CACHE_TIMEOUT) is renewed the same way.
    """
    groups = {asset_group(symbol): symbol for symbol in symbols}
    try:
        missing = [groups[group] for group in snapshots_missing(list(groups))]
    except RedisError as error:
        logger.warning("snapshots: could not check %d symbols: %s", len(symbols), error)
        return []
    if missing:
        frames_publish_rollback_unsafe(asset_frames_get(missing))
        logger.info("snapshots: %d unchanged symbols had none and were published again",
                    len(missing))  # fmt: skip
    return missing


def _older_too_long(saved: QuotesSaveResult, quotes: Mapping[str, Quote]) -> dict[str, str]:
    """Symbols that got only older quotes OLDER_LIMIT batches in a row, with the reason.

    One older quote is no failure (a fallback a little behind the primary's last quote); a
    run of them means no source has a fresh price, so the symbol is flagged stale.
    """
    fresh = saved.changed + saved.unchanged
    if not saved.older and not fresh:
        return {}
    with redis_client().pipeline(transaction=False) as pipe:
        for symbol in saved.older:
            pipe.incr(redis_key("older", symbol))
            pipe.expire(redis_key("older", symbol), OLDER_TTL)
        if fresh:
            pipe.delete(*(redis_key("older", symbol) for symbol in fresh))
        replies = pipe.execute()
    runs = dict(zip(saved.older, replies[0 : 2 * len(saved.older) : 2], strict=True))
    return {
        symbol: (
            f"{quotes[symbol].source}: only quotes older than the saved one, {run} batches in "
            f"a row (latest {quotes[symbol].quote_time.isoformat()})"
        )
        for symbol, run in runs.items()
        if run >= OLDER_LIMIT
    }


def price_batch_abandon(*, symbols: Sequence[str], reason: str, publish: bool = True) -> list[str]:
    """Give a batch up: its symbols past the staleness threshold are flagged with `reason`."""
    overdue = symbols_overdue(symbols)
    return assets_mark_failed(
        failures={s: reason for s in symbols if s in overdue}, publish=publish
    )


def batches_split(symbols: Sequence[str], size: int) -> list[list[str]]:
    return [list(symbols[start : start + size]) for start in range(0, len(symbols), size)]
