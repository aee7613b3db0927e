"""The guide's logging: realtime loggers on the console, and in a file when one is named."""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path

from config.logconfig import REALTIME_LOGGER, logging_config


def test_console_only_by_default() -> None:
    config = logging_config(level="INFO", realtime_log_file=None)
    assert config["loggers"][REALTIME_LOGGER]["handlers"] == ["console"]
    assert config["formatters"]["verbose"]["style"] == "{"


def test_realtime_child_loggers_write_to_the_named_file(tmp_path: Path) -> None:
    log_file = tmp_path / "realtime.log"
    logging.config.dictConfig(logging_config(level="INFO", realtime_log_file=str(log_file)))
    try:
        logging.getLogger(f"{REALTIME_LOGGER}.prices").info("tick done: 20 symbols")
        for handler in logging.getLogger(REALTIME_LOGGER).handlers:
            handler.flush()
        line = log_file.read_text()
        assert "INFO" in line
        assert "personal_finance.realtime.prices" in line
        assert "tick done: 20 symbols" in line
    finally:
        for handler in logging.getLogger(REALTIME_LOGGER).handlers:
            handler.close()
        logging.getLogger(REALTIME_LOGGER).handlers.clear()
