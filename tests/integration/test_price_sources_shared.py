"""Price sources are built once per process and closed at worker process shutdown.

CoinGecko and Frankfurter are local stand-ins that keep connections alive as the real APIs
do, so a client rebuilt per batch shows up as one new connection per batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import psutil
import pytest
from celery.signals import worker_process_shutdown
from pytest_django.fixtures import Settings

from apps.market.models import Asset
from apps.market.pipeline import price_batch_fetch, price_chain
from apps.market.providers.breaker import CircuitBreaker
from apps.market.providers.registry import providers_close, providers_shared
from tests.conftest import wait_until
from tests.factories import asset_create
from tests.standins.http_standin import HttpStandin, StandinRequest, json_reply
from workers import lifecycle  # noqa: F401  (what a worker loads: the shutdown handlers)

pytestmark = pytest.mark.django_db(transaction=True)

BATCHES = 25


def coingecko_prices(_request: StandinRequest) -> tuple[int, dict[str, str], bytes]:
    updated = int(datetime.now(UTC).timestamp())
    return json_reply({"bitcoin": {"usd": 94500.5, "last_updated_at": updated}})


def frankfurter_rates(_request: StandinRequest) -> tuple[int, dict[str, str], bytes]:
    return json_reply({"rates": {"2026-11-19": {"USD": 1.08}, "2026-11-20": {"USD": 1.09}}})


@pytest.fixture
def sources(settings: Settings) -> Iterator[tuple[HttpStandin, HttpStandin]]:
    """Keep-alive stand-ins for the two HTTP sources, configured as PRICE_SOURCES."""
    with HttpStandin(keep_alive=True) as coingecko, HttpStandin(keep_alive=True) as frankfurter:
        coingecko.routes["/"] = coingecko_prices
        frankfurter.routes["/"] = frankfurter_rates
        settings.COINGECKO_BASE_URL = coingecko.base_url
        settings.FRANKFURTER_BASE_URL = frankfurter.base_url
        settings.PRICE_SOURCES = ["coingecko", "frankfurter"]
        for name in ("coingecko", "frankfurter"):
            CircuitBreaker().reset(name)
        yield coingecko, frankfurter
        providers_close()


def sockets_to(standin: HttpStandin) -> int:
    port = int(standin.base_url.rsplit(":", 1)[1])
    connections = psutil.Process().net_connections("tcp")
    return sum(
        1 for c in connections if c.raddr and c.raddr.port == port and c.status != "CLOSE_WAIT"
    )


def test_many_batches_share_one_connection_per_source(
    sources: tuple[HttpStandin, HttpStandin],
) -> None:
    coingecko, frankfurter = sources
    asset_create("BTC-USD", asset_type="crypto")
    asset_create("EURUSD=X", asset_type="fx")

    for _ in range(BATCHES):
        summary = price_batch_fetch(symbols=["BTC-USD", "EURUSD=X"], publish=False)
        assert summary.failed == {}, summary.failed

    assert len(coingecko.requests) == len(frankfurter.requests) == BATCHES
    assert (coingecko.connections_opened, frankfurter.connections_opened) == (1, 1)
    assert (sockets_to(coingecko), sockets_to(frankfurter)) == (1, 1)
    assert Asset.objects.get(symbol="BTC-USD").source == "coingecko"


def test_worker_process_shutdown_closes_the_sources_connections(
    sources: tuple[HttpStandin, HttpStandin],
) -> None:
    coingecko, _frankfurter = sources
    price_chain().quotes(["BTC-USD"])
    assert (sockets_to(coingecko), coingecko.connections_open) == (1, 1)

    worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)

    assert sockets_to(coingecko) == 0
    wait_until(lambda: coingecko.connections_open == 0, timeout=5, what="the stand-in to see it")
    # A later batch in the same process builds the sources anew.
    assert set(price_chain().quotes(["BTC-USD"]).quotes) == {"BTC-USD"}
    assert coingecko.connections_opened == 2


def test_a_forked_child_does_not_reuse_its_parents_sources() -> None:
    parent = providers_shared(["simulated"])[0]
    assert providers_shared(["simulated"])[0] is parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether it got the parent's instance, then leave at once
        os.write(write, json.dumps(providers_shared(["simulated"])[0] is parent).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as answer:
        assert json.loads(answer.read()) is False
