"""What /realtime/health/ checks: each part answers, or says what is wrong with it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection

from apps.market.pipeline import heartbeat_age
from config.redis_client import redis_client


def redis_problem() -> str | None:
    try:
        redis_client().ping()
    except Exception as error:  # any failure is the answer
        return f"redis: {error}"
    return None


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"database: {error}"
    return None


def broker_problem() -> str | None:
    from config.celery import app

    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return f"broker: {error}"
    return None


def price_feed_problem() -> str | None:
    age = heartbeat_age()
    limit = settings.REALTIME_STALE_AFTER
    if age is None:
        return "price_feed: no batch has saved prices yet"
    if age > limit:
        return f"price_feed: last successful batch {age:.0f}s ago (limit {limit}s)"
    return None


WEB_CHECKS: dict[str, Callable[[], str | None]] = {
    "redis": redis_problem,
    "database": database_problem,
}
ALL_CHECKS: dict[str, Callable[[], str | None]] = {
    **WEB_CHECKS,
    "broker": broker_problem,
    "price_feed": price_feed_problem,
}
