"""Asking the pipeline for a price refresh: how the work is queued is decided here.

Callers outside the pipeline (the REST API) ask; they never import the tasks. The task is
named, not imported, so this module pulls in no worker code.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.celery import app

REFRESH_PRICES_TASK = "workers.tasks.refresh_prices"


def prices_refresh_request(
    *, symbols: Sequence[str] | None = None, batch_size: int | None = None
) -> str:
    """Queue a refresh of these symbols (default: every due symbol) now; returns the task id.

    Raises kombu's OperationalError when the broker cannot take it.
    """
    kwargs: dict[str, object] = {"symbols": list(symbols)} if symbols is not None else {}
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    return str(app.send_task(REFRESH_PRICES_TASK, kwargs=kwargs).id)
