"""The project's task decorator: every task's options declared once, here.

Late acks: a task's message is acknowledged when the task ends, so a worker that dies
mid-task does not lose it (our tasks are safe to run twice: saves are keyed on quote time, a
batch run again takes back its own symbol locks). With Redis as the broker that means two
different things. A pool process killed alone (SIGKILL, the OOM killer): its worker puts the
message back at once (`reject_on_worker_lost`) and another process runs it. A worker killed
outright (or its host lost): its messages stay unacknowledged in Redis until the broker's
visibility timeout (config/settings: the hard time limit plus the longest retry countdown
plus a margin, not Redis' 1 h default) and then go to a worker; a price batch has expired by
then (its `expires`) and is dropped, the next tick doing its work.

Transient failures are retried, not failed: a task that meets the database or Redis away
(TRANSIENT_ERRORS) goes round again after 2, 4, then 8 s (capped at TASK_RETRY_COUNTDOWN_MAX),
at most `max_retries` times, so it outlasts an outage of about 14 s. Not jittered: Celery's
jitter draws from zero up, and three retries drawn near zero were measured spent within a
10 s database outage; tasks fail at different moments anyway. Anything else fails loudly.

The soft time limit is also a task's time budget: the price batch derives its sources'
deadline from it (`task_budget_seconds`), so a slow source ends the fetch in time to save.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django.db
import redis.exceptions
from celery import Task
from django.conf import settings

from config.celery import app

SOFT_TIME_LIMIT = int(settings.TASK_SOFT_TIME_LIMIT)
TIME_LIMIT = int(settings.TASK_TIME_LIMIT)
RETRY_COUNTDOWN_MAX = int(settings.TASK_RETRY_COUNTDOWN_MAX)
# A backing service away for a moment: the same call will work a little later.
TRANSIENT_ERRORS = (
    django.db.OperationalError,  # the database unreachable, restarting, out of connections
    django.db.InterfaceError,  # a connection closed under the ORM
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY_BACKOFF_SECONDS = 2  # the first retry waits 2 s, then 4, 8...


def project_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    defaults: dict[str, Any] = {
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "soft_time_limit": SOFT_TIME_LIMIT,
        "time_limit": TIME_LIMIT,
        "max_retries": 3,
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": RETRY_BACKOFF_SECONDS,
        "retry_backoff_max": RETRY_COUNTDOWN_MAX,
        "retry_jitter": False,
    }
    return app.task(**(defaults | options))


def task_budget_seconds(task: Task) -> float:
    """This run's soft time limit: a per-call `soft_time_limit` wins over the task's own."""
    return float(task.request.soft_time_limit or task.soft_time_limit or SOFT_TIME_LIMIT)


def retry_countdown(task: Task, wanted: float | None = None) -> float:
    """Seconds before this task's next attempt: what the caller wants (a source's
    Retry-After), else 5 s doubled per retry; never more than RETRY_COUNTDOWN_MAX."""
    return min(wanted or 5 * 2**task.request.retries, RETRY_COUNTDOWN_MAX)
