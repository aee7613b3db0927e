"""What /realtime/health/ checks: each part answers, or says what is wrong with it.

The answer is public (load balancers call it without a login), so a part that fails with an
exception is only `unavailable` there; the exception itself goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from django.db import connection

from apps.market.feed import feed_problem
from config.redis_client import redis_client

logger = logging.getLogger("personal_finance.realtime.health")

Check = Callable[[], str | None]  # None when fine, else what is wrong, in words safe to publish
UNAVAILABLE = "unavailable"


def redis_check() -> str | None:
    redis_client().ping()
    return None


def database_check() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def broker_check() -> str | None:
    from config.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=2)
    return None


def price_feed_check() -> str | None:
    """The pipeline's heartbeat is younger than the staleness threshold of the live schedule."""
    return feed_problem()


WEB_CHECKS: dict[str, Check] = {"redis": redis_check, "database": database_check}
ALL_CHECKS: dict[str, Check] = {
    **WEB_CHECKS,
    "broker": broker_check,
    "price_feed": price_feed_check,
}
# `?check=` values: `web` is what a web process needs, for load balancers and containers.
CHECK_SETS: dict[str, dict[str, Check]] = {"all": ALL_CHECKS, "web": WEB_CHECKS}


def health_problems(checks: Mapping[str, Check]) -> dict[str, str]:
    """Run every check; a check that raises is `unavailable`, each problem named with its part."""
    problems: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = check()
        except Exception as error:  # whatever went wrong, the part is not usable
            # One line, no traceback: a probe every few seconds during an outage.
            logger.warning("health: %s unavailable: %s: %s", name, type(error).__name__, error)
            problem = UNAVAILABLE
        if problem:
            problems[name] = f"{name}: {problem}"
    return problems
