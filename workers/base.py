"""The project's task decorator: every task's options declared once, here.

acks_late: a worker that dies mid-task leaves the message for another (our tasks are safe to
run twice: saves are keyed on quote time). Time limits stay far below the broker's 1 h
visibility timeout, so a late ack never makes a task run twice while still running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.celery import app

SOFT_TIME_LIMIT = 60
TIME_LIMIT = 90


def project_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    defaults: dict[str, Any] = {
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "soft_time_limit": SOFT_TIME_LIMIT,
        "time_limit": TIME_LIMIT,
        "max_retries": 3,
    }
    return app.task(**(defaults | options))
