"""A position changed (admin, API, shell): push its portfolio's fresh value once committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apps.portfolios.models import Position
from apps.portfolios.requests import portfolio_revalue_request


def _position_changed(sender: type[Position], instance: Position, **_: Any) -> None:
    portfolio_id = instance.portfolio_id
    transaction.on_commit(lambda: portfolio_revalue_request(portfolio_id=portfolio_id))


def signals_connect() -> None:
    post_save.connect(_position_changed, sender=Position, dispatch_uid="position_saved")
    post_delete.connect(_position_changed, sender=Position, dispatch_uid="position_deleted")
