"""The live schedule: an interval changed in the database reaches a running beat, no restart."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.market.schedule import refresh_schedule_apply
from tests.conftest import RunningProcess, procfile_command, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SENT = "Sending due task Refresh prices"


def test_beat_picks_up_an_interval_change_without_restart(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    refresh_schedule_apply(every_seconds=3600)
    beat = start_process(
        "beat", procfile_command("beat"), {**child_env, "CELERY_LOG_LEVEL": "DEBUG"}
    )
    # Ready once it has ticked: django-celery-beat notes the schedule's change stamp only at
    # its first check after the initial read, and a change made before that check is missed
    # (until its 5-minute full sync). "Waking up" comes after that check.
    wait_until(
        lambda: "DatabaseScheduler: initial read" in beat.output()
        and "beat: Waking up" in beat.output(),
        timeout=30, what="beat to read the hourly schedule and tick once",
    )  # fmt: skip
    # An hourly task may fire once when beat starts; after that, nothing for an hour.
    sent_before = beat.output().count(SENT)
    assert sent_before <= 1

    refresh_schedule_apply(every_seconds=1)  # as an admin saving the task in /admin does

    wait_until(
        lambda: beat.output().count(SENT) >= sent_before + 2,
        timeout=45, what="beat to send refresh ticks on the new 1 s interval",
    )  # fmt: skip
    assert beat.alive()
