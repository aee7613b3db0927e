"""The guide's logging: `personal_finance.realtime` and its children, verbose, console first."""

from __future__ import annotations

from typing import Any

REALTIME_LOGGER = "personal_finance.realtime"


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
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "django": {"level": "INFO", "propagate": True},
            REALTIME_LOGGER: {
                "handlers": realtime_handlers,
                "level": level,
                # The root logger already has the console: avoid printing every line twice.
                "propagate": False,
            },
        },
    }
