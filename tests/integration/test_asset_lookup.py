"""Looking a new symbol up: once, through the source chain, by a worker; found, unknown, or not
checked (a source or the worker away). Sources are the simulated market (its lookup path
lists a universe) or small in-test sources: the market data edge is the one faked here."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from django.conf import settings

from apps.market.lookup import assets_lookup
from apps.market.models import Asset, AssetType
from apps.market.providers.base import FailureKind, SourceUnavailable
from apps.market.providers.chain import ProviderChain
from apps.market.providers.simulated import SimulatedProvider
from apps.market.providers.universe import UNIVERSE
from apps.market.requests import (
    LOOKUP_ASSETS_TASK,
    LookupStatus,
    SymbolCheck,
    assets_lookup_request,
)
from config.celery import app
from config.redis_client import redis_client
from tests.conftest import RunningProcess
from tests.factories import asset_create
from tests.integration.test_source_chain import Source

QUEUE = f"{settings.REDIS_KEY_PREFIX}:celery:celery"
FOUND = SymbolCheck(LookupStatus.FOUND)


def queued_lookups() -> list[list[str]]:
    """The symbols of every lookup waiting in the default queue (no worker runs)."""
    found = []
    for raw in redis_client().lrange(QUEUE, 0, -1):
        message = orjson.loads(raw)
        if message["headers"]["task"] == LOOKUP_ASSETS_TASK:
            _args, kwargs, _embed = orjson.loads(base64.b64decode(message["body"]))
            found.append(kwargs["symbols"])
    return found


def simulated() -> ProviderChain:
    moment = datetime(2026, 11, 24, 14, 30, 5, tzinfo=UTC)
    return ProviderChain([SimulatedProvider(clock=lambda: moment)])


# --- the simulated market's lookup path ------------------------------------------------------


def test_the_simulated_market_lists_its_universe_but_still_prices_any_symbol() -> None:
    source = SimulatedProvider()

    looked_up = source.lookup(["NFLX", "SAP.DE", "USDCHF=X", "BTC-USD", "NOSUCHCO"])
    priced = source.quotes(["NOSUCHCO"])

    assert set(looked_up.quotes) == {"NFLX", "SAP.DE", "USDCHF=X", "BTC-USD"}
    assert looked_up.failures["NOSUCHCO"].kind is FailureKind.UNKNOWN_SYMBOL
    assert looked_up.quotes["SAP.DE"].currency == "EUR"
    assert looked_up.quotes["USDCHF=X"].currency == "CHF"
    assert priced.quotes["NOSUCHCO"].price > 0  # tests and benchmarks price made-up symbols
    assert len(UNIVERSE) > 250


def test_the_chain_asks_a_source_without_a_lookup_for_its_quotes() -> None:
    plain = Source("plain-lookup", {"ACME": "12.50"}, unknown=["NOPE"])

    result = ProviderChain([plain]).lookup(["ACME", "NOPE"])

    assert plain.calls == [["ACME", "NOPE"]]
    assert result.quotes["ACME"].price == Decimal("12.50")
    assert [f.kind for f in result.failures["NOPE"]] == [FailureKind.UNKNOWN_SYMBOL]


# --- the lookup service (what the worker runs) ---------------------------------------------


@pytest.mark.django_db
def test_a_symbol_the_source_lists_becomes_a_priced_asset() -> None:
    symbols = ["nflx", "VOO", "ETH-EUR", "^DJI", "GBPJPY=X"]

    checks = assets_lookup(symbols=symbols, chain=simulated())

    assert checks == dict.fromkeys(symbols, FOUND)
    assets = {a.symbol: a for a in Asset.objects.all()}
    netflix = assets["NFLX"]
    assert (netflix.name, netflix.asset_type, netflix.currency) == (
        "Netflix, Inc.", AssetType.STOCK, "USD"
    )  # fmt: skip
    assert netflix.current_price is not None
    assert netflix.current_price > 0
    assert netflix.source == "simulated"
    assert assets["VOO"].asset_type == AssetType.ETF
    assert (assets["ETH-EUR"].asset_type, assets["ETH-EUR"].currency) == (AssetType.CRYPTO, "EUR")
    assert assets["^DJI"].asset_type == AssetType.INDEX
    assert (assets["GBPJPY=X"].asset_type, assets["GBPJPY=X"].currency) == (AssetType.FX, "JPY")


@pytest.mark.django_db
def test_an_unknown_symbol_is_unknown_and_never_becomes_a_row() -> None:
    checks = assets_lookup(symbols=["NOSUCHCO", "bad symbol!"], chain=simulated())

    assert checks["NOSUCHCO"].status is LookupStatus.UNKNOWN
    assert "not a symbol of the simulated market" in checks["NOSUCHCO"].reason
    assert checks["bad symbol!"].status is LookupStatus.UNKNOWN
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_a_known_asset_is_found_without_asking_any_source() -> None:
    asset_create("AAPL")
    failing = Source("never-asked", fails=SourceUnavailable("never-asked", "down"))

    assert assets_lookup(symbols=["AAPL"], chain=ProviderChain([failing])) == {"AAPL": FOUND}
    assert failing.calls == []


@pytest.mark.django_db
def test_a_failing_source_leaves_the_symbol_unchecked_not_unknown() -> None:
    down = Source("down-lookup", fails=SourceUnavailable("down-lookup", "HTTP 503"))

    checks = assets_lookup(symbols=["NFLX"], chain=ProviderChain([down]))

    assert checks["NFLX"].status is LookupStatus.FAILED
    assert "HTTP 503" in checks["NFLX"].reason
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_a_quote_that_fails_validation_never_becomes_an_asset() -> None:
    broken = Source("broken-lookup", {"ACME": "0"})

    checks = assets_lookup(symbols=["ACME"], chain=ProviderChain([broken]))

    assert checks["ACME"].status is LookupStatus.FAILED
    assert "price 0 is not positive" in checks["ACME"].reason
    assert not Asset.objects.exists()


# --- asking a worker, and waiting for it ---------------------------------------------------


def test_with_no_worker_the_request_says_not_checked_and_expires() -> None:
    started = datetime.now(UTC)

    checks = assets_lookup_request(symbols=["NFLX"], timeout=1)

    waited = (datetime.now(UTC) - started).total_seconds()
    assert checks == {"NFLX": SymbolCheck(LookupStatus.FAILED, "no worker answered in time")}
    assert 1 <= waited < 5
    [raw] = redis_client().lrange(QUEUE, 0, -1)
    assert orjson.loads(raw)["headers"]["expires"] is not None  # a late worker drops it


def test_the_lookup_task_name_is_a_registered_task() -> None:
    app.loader.import_default_modules()

    assert LOOKUP_ASSETS_TASK in app.tasks


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_worker_looks_symbols_up_once_and_answers_in_time(
    celery_worker_process: RunningProcess,
) -> None:
    checks = assets_lookup_request(symbols=["NFLX", "NOSUCHCO"], timeout=20)

    assert checks["NFLX"] == FOUND
    assert checks["NOSUCHCO"].status is LookupStatus.UNKNOWN
    assert "not a symbol of the simulated market" in checks["NOSUCHCO"].reason
    netflix = Asset.objects.get(symbol="NFLX")
    assert netflix.current_price is not None
    assert netflix.current_price > 0
    assert not Asset.objects.filter(symbol="NOSUCHCO").exists()
