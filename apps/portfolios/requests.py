"""Asking a worker to value and push one portfolio, with repeats folded into one task.

The socket servers (a new subscriber) and the position signals ask here; they never import
the tasks. A request while another for the same portfolio still waits in the queue is
dropped: the waiting task reads the positions when it starts, so it covers both. The mark
is shared through Redis, so a burst across server processes still queues one task.
"""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from config.celery import app
from config.redis_client import redis_client, redis_key

logger = logging.getLogger("personal_finance.realtime.valuation")

REVALUE_PORTFOLIO_TASK = "workers.tasks.revalue_portfolio"
# A mark older than this belongs to a task that never ran (no worker): ask again.
PENDING_SECONDS = 5
# A request nobody took within this long is dropped; the next tick or subscribe asks again.
REQUEST_EXPIRES_SECONDS = 60


def _pending_key(portfolio_id: int) -> str:
    return redis_key("revalue", "pending", int(portfolio_id))


def portfolio_revalue_request(*, portfolio_id: int) -> bool:
    """Queue a revaluation of this portfolio unless one is already waiting; True if queued.

    Never raises for a broker or Redis outage: the change that prompted it is saved, only
    its push waits for the next tick (logged).
    """
    try:
        if not redis_client().set(_pending_key(portfolio_id), "1", nx=True, ex=PENDING_SECONDS):
            return False
        app.send_task(
            REVALUE_PORTFOLIO_TASK, args=[int(portfolio_id)], expires=REQUEST_EXPIRES_SECONDS
        )
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("could not queue revaluation of portfolio %s: %s", portfolio_id, error)
        return False
    return True


def portfolio_revalue_started(*, portfolio_id: int) -> None:
    """The worker took the request: later requests queue a new task (called before reading)."""
    redis_client().delete(_pending_key(portfolio_id))
