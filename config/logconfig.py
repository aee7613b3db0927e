"""The guide's logging: `personal_finance.realtime` and its children, verbose, console first."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions

REALTIME_LOGGER = "personal_finance.realtime"
# The channel layer's loggers, whose outage tracebacks are filtered (LayerOutageFilter).
CHANNEL_LAYER_LOGGERS = ("channels_redis.pubsub", "channels_redis.core")
_OUTAGE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class LayerOutageFilter(logging.Filter):
    """Drop the channel layer's log records about a Redis connection failure.

    channels-redis's pub/sub receive task logs a full traceback for every reconnect attempt
    while Redis is down (19 in a 4-second restart, seen here). The fan-out hub logs the
    outage itself, once when the link is lost and once when it is back with its length
    (apps/realtime/hub.py), so these add nothing. Every other record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, _OUTAGE_ERRORS)


def logging_config(*, level: str, realtime_log_file: str | None) -> dict[str, Any]:
    """Build LOGGING: console always, a file for the realtime loggers when a path is given."""
    handlers: dict[str, dict[str, Any]] = {
        "console": {"class": "logging.StreamHandler", "formatter": "verbose"},
    }
    realtime_handlers = ["console"]
    if realtime_log_file:
        handlers["realtime_file"] = {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": realtime_log_file,
            "formatter": "verbose",
        }
        realtime_handlers.append("realtime_file")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "verbose": {
                "format": "{levelname} {asctime} {name} {module} {message}",
                "style": "{",
            },
        },
        "filters": {"layer_outage": {"()": LayerOutageFilter}},
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "django": {"level": "INFO", "propagate": True},
            **{name: {"filters": ["layer_outage"]} for name in CHANNEL_LAYER_LOGGERS},
            REALTIME_LOGGER: {
                "handlers": realtime_handlers,
                "level": level,
                # The root logger already has the console: avoid printing every line twice.
                "propagate": False,
            },
        },
    }
