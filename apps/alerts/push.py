"""Firings to `alert` frames for their owners' groups, published once the firing is committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from apps.alerts.models import AlertEvent
from apps.streams.frames import alert_frame
from apps.streams.groups import GroupFrame
from apps.streams.payloads import AlertFired
from apps.streams.publish import frames_publish_rollback_unsafe


@dataclass(frozen=True, slots=True)
class Firing:
    """One saved firing and what its event row does not keep: which symbol or portfolio."""

    event: AlertEvent
    symbol: str | None
    portfolio_id: int | None
    name: str


def alert_fired_payload(firing: Firing) -> AlertFired:
    event = firing.event
    if event.alert_id is None:
        raise ValueError("a firing is pushed as it is saved, with its alert")
    return AlertFired(
        alert_id=event.alert_id,
        event_id=event.pk,
        target="symbol" if firing.symbol is not None else "portfolio",
        symbol=firing.symbol,
        portfolio_id=firing.portfolio_id,
        name=firing.name,
        condition=event.condition,
        threshold=event.threshold,
        value=event.value,
        change_percent=event.change_percent,
        currency=event.currency,
        message=event.message,
        fired_at=event.fired_at,
        as_of=event.as_of,
    )


def alert_frames_build(firings: Sequence[Firing]) -> list[GroupFrame]:
    """(owner's group, encoded `alert`) per firing, in the order they fired."""
    return [
        alert_frame(owner_id=firing.event.owner_id, alert=alert_fired_payload(firing))
        for firing in firings
    ]


def alert_firings_push_on_commit(firings: Sequence[Firing]) -> None:
    """Publish the firings to every open socket of their owners once the surrounding
    transaction commits (never for a firing rolled back)."""
    if not firings:
        return
    frames = alert_frames_build(firings)
    transaction.on_commit(lambda: frames_publish_rollback_unsafe(frames))
