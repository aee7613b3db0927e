"""Worker process lifecycle: what a process builds once for all its tasks is closed at exit.

Imported by `workers.tasks`, so every worker that loads the tasks connects these handlers.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_shutdown, worker_shutdown

from apps.market.providers.registry import providers_close

logger = logging.getLogger("personal_finance.realtime.tasks")


@worker_process_shutdown.connect
@worker_shutdown.connect  # the solo and threads pools run tasks in the main process
def price_sources_close(**_signal: Any) -> None:
    closed = providers_close()
    if closed:
        logger.info("closed %d price source(s)", closed)
