"""The log filter that keeps a Redis outage from filling the log with the layer's tracebacks."""

from __future__ import annotations

import logging
import sys

import redis.exceptions

from config.logconfig import LayerOutageFilter


def record_of(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "channels_redis.pubsub", logging.ERROR, __file__, 1,
        "Unexpected exception in receive task", None, exc_info,
    )  # fmt: skip


def test_connection_failures_of_the_layer_are_dropped() -> None:
    quiet = LayerOutageFilter()
    assert not quiet.filter(record_of(redis.exceptions.ConnectionError("Error 111")))
    assert not quiet.filter(record_of(redis.exceptions.TimeoutError("Timeout reading")))
    assert not quiet.filter(record_of(ConnectionResetError(104, "reset by peer")))


def test_anything_else_the_layer_logs_passes() -> None:
    quiet = LayerOutageFilter()
    assert quiet.filter(record_of(ValueError("a bug")))
    plain = logging.LogRecord(
        "channels_redis.pubsub", logging.WARNING, __file__, 1, "x", None, None
    )
    assert quiet.filter(plain)
