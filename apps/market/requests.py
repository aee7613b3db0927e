"""Asking the pipeline for a price refresh or a symbol lookup: how the work is queued is
decided here.

Callers outside the pipeline (the REST API, the pages) ask; they never import the tasks. The
tasks are named, not imported, so this module pulls in no worker code (and no source).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from config.celery import app
from config.redis_client import redis_client, redis_key

logger = logging.getLogger("personal_finance.realtime.lookup")

REFRESH_PRICES_TASK = "workers.tasks.refresh_prices"


def prices_refresh_request(
    *, symbols: Sequence[str] | None = None, batch_size: int | None = None
) -> str:
    """Queue a refresh of these symbols (default: every due symbol) now; returns the task id.

    Raises kombu's OperationalError when the broker cannot take it.
    """
    kwargs: dict[str, object] = {"symbols": list(symbols)} if symbols is not None else {}
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    return str(app.send_task(REFRESH_PRICES_TASK, kwargs=kwargs).id)


# --- looking symbols up through the source chain (a worker asks; the web process waits) ----

LOOKUP_ASSETS_TASK = "workers.tasks.lookup_assets"
# A lookup nobody took within this long is dropped: its asker has stopped waiting.
LOOKUP_QUEUE_EXPIRES_SECONDS = 60


class LookupStatus(StrEnum):
    FOUND = "found"  # an asset now: it was known, or a source priced it and it was saved
    UNKNOWN = "unknown"  # the sources say they do not list it
    FAILED = "failed"  # not checked: a source or the task queue failed; worth a retry


@dataclass(frozen=True, slots=True)
class SymbolCheck:
    """What a lookup found out about one symbol; `reason` says why when it was not found."""

    status: LookupStatus
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status.value, "reason": self.reason}


def assets_lookup_request(*, symbols: Sequence[str], timeout: float) -> dict[str, SymbolCheck]:
    """Ask a worker to look the symbols up (`lookup_assets`) and wait up to `timeout` seconds.

    Blocks while it waits: call it from a thread (`asyncio.to_thread`), never on an event
    loop or the one thread Django gives sync views under ASGI. Never raises for a broker,
    Redis or worker problem: every symbol comes back FAILED with the reason. A request no
    worker starts within `timeout` expires, so nothing is created after its asker gave up.
    """
    wanted = list(dict.fromkeys(symbols))
    try:
        result = app.send_task(LOOKUP_ASSETS_TASK, kwargs={"symbols": wanted}, expires=timeout)
        answer = result.get(timeout=timeout, propagate=False)
    except CeleryTimeoutError:
        return _all_failed(wanted, "no worker answered in time")
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("asset lookup of %s could not be queued or read: %s", wanted, error)
        return _all_failed(wanted, "the task queue is unavailable")
    if not isinstance(answer, dict):  # the task raised: `answer` is its exception
        logger.warning("asset lookup of %s failed in the worker: %r", wanted, answer)
        return _all_failed(wanted, "the lookup failed")
    return {
        symbol: SymbolCheck(LookupStatus(answer[symbol]["status"]), answer[symbol]["reason"])
        if symbol in answer
        else SymbolCheck(LookupStatus.FAILED, "the lookup gave no answer for it")
        for symbol in wanted
    }


def assets_lookup_queue(*, symbols: Sequence[str]) -> bool:
    """Queue a lookup without waiting for it (FX pairs a portfolio will need); True if queued."""
    try:
        app.send_task(
            LOOKUP_ASSETS_TASK,
            kwargs={"symbols": list(dict.fromkeys(symbols))},
            expires=LOOKUP_QUEUE_EXPIRES_SECONDS,
            ignore_result=True,
        )
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("asset lookup of %s could not be queued: %s", list(symbols), error)
        return False
    return True


def _all_failed(symbols: Sequence[str], reason: str) -> dict[str, SymbolCheck]:
    return {symbol: SymbolCheck(LookupStatus.FAILED, reason) for symbol in symbols}


# --- daily bars a chart is missing (a worker fetches them; the askers' sockets are told) ------

PRICE_HISTORY_TASK = "workers.history_tasks.fetch_price_history"
# A fetch nobody took within this long is dropped; the chart's next read asks again.
HISTORY_QUEUE_EXPIRES_SECONDS = 120
# The in-flight mark outlives a fetch that was queued, ran to its time limit and failed to clear
# it (a killed worker); after that, a new read may queue another.
HISTORY_PENDING_SECONDS = HISTORY_QUEUE_EXPIRES_SECONDS + int(settings.TASK_TIME_LIMIT) + 30


def _history_keys(symbol: str, days: int) -> tuple[str, str]:
    """(in-flight mark, set of asking user ids) of one symbol's fetch of `days` days."""
    pending = redis_key("history", "pending", symbol, days)
    return pending, redis_key("history", "askers", symbol, days)


def price_history_request(*, symbol: str, days: int, user_id: int) -> bool:
    """Ask for `days` days of daily bars of `symbol`; `user_id`'s sockets get `history_ready`.

    One fetch per symbol and span is in flight (SET NX with expiry): a reload or ten viewers
    add themselves to its askers and queue nothing more. True when a `history_ready` will
    come; False when the request could not be queued (logged), so nothing will.
    """
    pending, askers = _history_keys(symbol, days)
    try:
        with redis_client().pipeline(transaction=True) as pipe:
            pipe.sadd(askers, int(user_id))
            pipe.expire(askers, HISTORY_PENDING_SECONDS)
            pipe.set(pending, "1", nx=True, ex=HISTORY_PENDING_SECONDS)
            if not pipe.execute()[-1]:
                return True  # already in flight: its end tells this asker too
        kwargs = {"symbol": symbol, "days": int(days), "user_ids": [int(user_id)]}
        app.send_task(PRICE_HISTORY_TASK, kwargs=kwargs, expires=HISTORY_QUEUE_EXPIRES_SECONDS)
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("history of %s (%d days) could not be queued: %s", symbol, days, error)
        with contextlib.suppress(RedisError, OSError):
            redis_client().delete(pending)  # the next read tries again
        return False
    return True


def price_history_askers_take(*, symbol: str, days: int) -> set[int]:
    """End the fetch's in-flight mark and take its askers, in one step: one who asks after
    this queues a fetch of their own, so nobody is left waiting for a message never sent."""
    pending, askers = _history_keys(symbol, days)
    with redis_client().pipeline(transaction=True) as pipe:
        pipe.delete(pending)
        pipe.smembers(askers)
        pipe.delete(askers)
        asked = pipe.execute()[1]
    return {int(user_id) for user_id in asked}
