"""What /realtime/health/ checks: each part answers, or says what is wrong with it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.db import connection

from apps.market.feed import feed_problem
from config.redis_client import redis_client

Check = Callable[[], str | None]  # None when fine, else what is wrong


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


def health_problems(checks: Mapping[str, Check]) -> dict[str, str]:
    """Run every check; a check that raises is a problem, named with its part."""
    problems: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = check()
        except Exception as error:  # whatever went wrong is the answer
            problem = f"{type(error).__name__}: {error}"
        if problem:
            problems[name] = f"{name}: {problem}"
    return problems
