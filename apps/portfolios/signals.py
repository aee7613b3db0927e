"""A position changed (admin, API, shell): push its portfolio's fresh value once committed."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from kombu.exceptions import OperationalError

from apps.portfolios.models import Position

logger = logging.getLogger("personal_finance.realtime.valuation")


def _position_changed(sender: type[Position], instance: Position, **_: Any) -> None:
    portfolio_id = instance.portfolio_id
    transaction.on_commit(lambda: _revalue_soon(portfolio_id))


def _revalue_soon(portfolio_id: int) -> None:
    from workers.tasks import revalue_portfolio

    try:
        revalue_portfolio.delay(portfolio_id)
    except OperationalError as error:
        # The change is saved; only its push is lost, and the next tick carries the value.
        logger.warning("could not queue revaluation of portfolio %s: %s", portfolio_id, error)


def signals_connect() -> None:
    post_save.connect(_position_changed, sender=Position, dispatch_uid="position_saved")
    post_delete.connect(_position_changed, sender=Position, dispatch_uid="position_deleted")
