"""The price feed's timing, with one owner: the beat schedule row (edited in /admin or by
`start_price_feed --interval`).

Batch expiry, the staleness threshold and health's "feed running" all derive from the
interval read here; REALTIME_UPDATE_INTERVAL only seeds the row and stands in while no
enabled interval row exists. Each process re-reads the row at most every few seconds, about
as often as beat itself notices an edit.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django_celery_beat.models import PeriodicTask

from apps.market.schedule import REFRESH_TASK, expire_seconds_for, interval_seconds

INTERVAL_CACHE_SECONDS = 5.0
HEARTBEAT_KEY = "pipeline:last_success"

_interval: tuple[float, int] | None = None  # (read at, seconds)


def refresh_interval_seconds() -> int:
    """Seconds between refresh ticks, as the running beat schedules them."""
    global _interval
    now = time.monotonic()
    if _interval is None or now - _interval[0] > INTERVAL_CACHE_SECONDS:
        _interval = (now, _interval_read())
    return _interval[1]


def _interval_read() -> int:
    task = (
        PeriodicTask.objects.filter(task=REFRESH_TASK, enabled=True)
        .select_related("interval")
        .order_by("id")
        .first()
    )
    seconds = interval_seconds(task) if task is not None else None
    return seconds or settings.REALTIME_UPDATE_INTERVAL


def refresh_interval_forget() -> None:
    """Read the row again on next use (called when this process edits the schedule)."""
    global _interval
    _interval = None


def stale_after_seconds() -> int:
    """How long a quote stays fresh: REALTIME_STALE_AFTER, else three intervals; never below
    two intervals, or every quote would turn stale between two ticks."""
    interval = refresh_interval_seconds()
    return max(settings.REALTIME_STALE_AFTER or 3 * interval, 2 * interval)


def batch_expiry_seconds() -> int:
    """A batch still queued after this long is dropped, never replayed late."""
    return expire_seconds_for(refresh_interval_seconds())


def heartbeat_record(*, symbols: int, took: float) -> None:
    cache.set(HEARTBEAT_KEY, {"at": time.time(), "symbols": symbols, "took": took}, timeout=None)


def heartbeat_age() -> float | None:
    """Seconds since a batch last saved prices, or None when none ever did."""
    beat = cache.get(HEARTBEAT_KEY)
    return time.time() - float(beat["at"]) if beat else None


def feed_problem() -> str | None:
    """None while batches save prices within the staleness threshold, else what is wrong."""
    age = heartbeat_age()
    limit = stale_after_seconds()
    if age is None:
        return "no batch has saved prices yet"
    if age > limit:
        return f"last successful batch {age:.0f}s ago (limit {limit}s)"
    return None
