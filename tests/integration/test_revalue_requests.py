"""The socket side asks for a revaluation; repeats while one waits are folded into it."""

from __future__ import annotations

import orjson
import pytest
from django.conf import settings

from apps.portfolios.requests import (
    REVALUE_PORTFOLIO_TASK,
    portfolio_revalue_request,
    portfolio_revalue_started,
)
from config.celery import app
from config.redis_client import redis_client

QUEUE = f"{settings.REDIS_KEY_PREFIX}:celery:celery"


def queued_tasks() -> list[tuple[str, list[int]]]:
    """(task name, args) of every message waiting in the default queue (no worker runs)."""
    messages = [orjson.loads(raw) for raw in redis_client().lrange(QUEUE, 0, -1)]
    return [
        (m["headers"]["task"], orjson.loads(__import__("base64").b64decode(m["body"]))[0])
        for m in messages
    ]


def test_a_burst_of_requests_for_one_portfolio_queues_one_task() -> None:
    answers = [portfolio_revalue_request(portfolio_id=7) for _ in range(20)]

    assert answers.count(True) == 1
    assert queued_tasks() == [(REVALUE_PORTFOLIO_TASK, [7])]


def test_other_portfolios_are_not_folded_together() -> None:
    portfolio_revalue_request(portfolio_id=7)
    portfolio_revalue_request(portfolio_id=8)

    assert sorted(queued_tasks()) == [(REVALUE_PORTFOLIO_TASK, [7]), (REVALUE_PORTFOLIO_TASK, [8])]


def test_once_the_worker_took_it_a_new_request_queues_again() -> None:
    assert portfolio_revalue_request(portfolio_id=7) is True
    portfolio_revalue_started(portfolio_id=7)  # the task began reading the positions

    assert portfolio_revalue_request(portfolio_id=7) is True
    assert len(queued_tasks()) == 2


def test_the_requested_task_name_is_a_registered_task() -> None:
    app.loader.import_default_modules()

    assert REVALUE_PORTFOLIO_TASK in app.tasks


@pytest.mark.parametrize("portfolio_id", [1, 2**40])
def test_a_request_expires_if_no_worker_takes_it(portfolio_id: int) -> None:
    portfolio_revalue_request(portfolio_id=portfolio_id)

    [raw] = redis_client().lrange(QUEUE, 0, -1)
    assert orjson.loads(raw)["headers"]["expires"] is not None
