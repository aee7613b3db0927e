"""A real worker keeps one connection per price source across batches and closes it on a warm
shutdown (worker_process_shutdown in the pool process). CoinGecko is a local keep-alive stand-in.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import psutil
import pytest

from apps.market.models import Asset
from apps.market.providers.breaker import CircuitBreaker
from tests.conftest import RunningProcess, procfile_command, wait_until
from tests.integration.test_price_sources_shared import coingecko_prices
from tests.standins.http_standin import HttpStandin

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

BATCHES = 5


def celery_main(worker: RunningProcess) -> psutil.Process:
    """The Celery main process under the Procfile line's shell."""
    shell = psutil.Process(worker.popen.pid)
    if "celery" in shell.cmdline()[:2][-1]:
        return shell
    return next(child for child in shell.children() if "celery" in " ".join(child.cmdline()))


def test_a_worker_reuses_one_connection_per_source_and_closes_it_at_shutdown(
    child_env: dict[str, str], start_process: Callable[..., RunningProcess]
) -> None:
    from config.celery import app
    from workers.tasks import fetch_price_batch

    Asset.objects.create(symbol="BTC-USD", asset_type="crypto")
    CircuitBreaker().reset("coingecko")
    with HttpStandin(keep_alive=True) as coingecko:
        coingecko.routes["/"] = coingecko_prices
        env = {
            **child_env,
            "CELERY_CONCURRENCY": "1",
            "PRICE_SOURCES": "coingecko",
            "COINGECKO_BASE_URL": coingecko.base_url,
        }
        worker = start_process("worker", procfile_command("worker"), env)
        wait_until(lambda: app.control.ping(timeout=0.5), timeout=40, what="the worker")

        for _ in range(BATCHES):
            assert fetch_price_batch.delay(["BTC-USD"]).get(timeout=20)["failed"] == {}

        assert len(coingecko.requests) == BATCHES
        assert (coingecko.connections_opened, coingecko.connections_open) == (1, 1)
        main = celery_main(worker)
        main.send_signal(signal.SIGTERM)  # a warm shutdown, as systemd's stop does
        main.wait(timeout=30)
        wait_until(lambda: coingecko.connections_open == 0, timeout=5, what="the close")
    assert "closed 1 price source(s)" in worker.output()
