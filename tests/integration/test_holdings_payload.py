"""Every position's figures in `portfolio_update`, for the portfolios the pipeline pushes:
exact Decimal to the cent against a hand computation, in the portfolio's currency; unknown is
null with the reason, never 0; totals equal the full pass's; pushed at once after a change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apps.market.models import Asset, AssetType
from apps.portfolios.holdings import portfolios_value_held
from apps.portfolios.models import Portfolio
from apps.portfolios.services import (
    portfolio_revalue_now,
    portfolios_revalue,
    position_add,
    position_remove,
)
from apps.portfolios.updates import portfolio_frames_build
from apps.portfolios.valuation import portfolios_value
from apps.streams.groups import portfolio_group
from apps.streams.payloads import PositionFigures
from apps.streams.snapshots import snapshot_get
from apps.streams.watching import watch_touch
from config.redis_client import redis_client, redis_key
from tests.conftest import RunningProcess
from tests.factories import asset_priced, portfolio_create, position_create

_owners = count(1)


def new_portfolio(**fields: Any) -> Portfolio:
    owner = User.objects.create(username=f"holdings-owner-{next(_owners)}")
    return portfolio_create(owner, **fields)


def priced(symbol: str, price: str | None, previous: str | None = None, **fields: Any) -> Asset:
    """An asset priced just now (so not stale); price None: never priced."""
    fields.setdefault("last_updated", datetime.now(UTC))
    fields.setdefault("quote_time", datetime.now(UTC))
    return asset_priced(symbol, price, previous, **fields)


def fx_pair(symbol: str, rate: str, **fields: Any) -> Asset:
    return priced(symbol, rate, rate, asset_type=AssetType.FX, currency=symbol[3:6], **fields)


def holdings_of(portfolio: Portfolio) -> dict[str, PositionFigures]:
    [valuation] = portfolios_value_held([portfolio.id])
    return {h.symbol: h for h in valuation.holdings}


@pytest.mark.django_db
def test_each_position_is_valued_in_the_portfolios_currency_to_the_cent() -> None:
    fx_pair("EURUSD=X", "1.25")  # 1 USD = 0.80 EUR
    portfolio = new_portfolio(base_currency="EUR")
    position_create(portfolio, priced("AAPL", "231.50", "229.00", name="Apple"), "10", "2000")
    position_create(portfolio, priced("SAP.DE", "210.00", "200.00", currency="EUR"), "5", "900")

    [valuation] = portfolios_value_held([portfolio.id])
    aapl, sap = valuation.holdings  # ordered by symbol

    # AAPL: 10 x 231.50 USD = 2315.00 USD = 1852.00 EUR; today 10 x 2.50 x 0.8 = 20.00 EUR;
    # cost 2000 USD = 1600.00 EUR; weight 1852 / 2902 = 63.82%
    assert (aapl.symbol, aapl.name, aapl.currency) == ("AAPL", "Apple", "USD")
    assert (aapl.quantity, aapl.price) == (Decimal("10"), Decimal("231.50"))
    assert aapl.value == Decimal("1852.00")
    assert aapl.daily_change == Decimal("20.00")
    assert aapl.daily_change_percent == Decimal("1.0917")  # 2.50 / 229.00, in any currency
    assert aapl.cost_basis == Decimal("1600.00")
    assert aapl.unrealised_gain == Decimal("252.00")
    assert aapl.weight == Decimal("63.82")
    # SAP: 1050.00 EUR, today 50.00, cost 900.00, weight 36.18%
    assert (sap.value, sap.daily_change, sap.cost_basis) == (
        Decimal("1050.00"), Decimal("50.00"), Decimal("900.00")
    )  # fmt: skip
    assert (sap.unrealised_gain, sap.weight) == (Decimal("150.00"), Decimal("36.18"))
    assert aapl.missing == sap.missing == []
    assert not aapl.stale
    assert not sap.stale
    # the rows add up to the totals shown beside them
    assert valuation.total_value == Decimal("2902.00")
    assert sum(h.value for h in valuation.holdings if h.value is not None) == Decimal("2902.00")
    assert valuation.daily_change == Decimal("70.00")
    assert valuation.cost_basis == Decimal("2500.00")


@pytest.mark.django_db
def test_what_cannot_be_known_is_null_with_the_reason_never_zero() -> None:
    portfolio = new_portfolio(base_currency="USD")
    position_create(portfolio, priced("AAPL", "200.00", "190.00"), "1", "150")
    position_create(portfolio, priced("NEWCO", None), "100", "5000")
    position_create(portfolio, priced("IPO", "50.00", None), "2", "90")
    position_create(portfolio, priced("7203.T", "2800", "2750", currency="JPY"), "10", "27000")

    holdings = holdings_of(portfolio)

    newco = holdings["NEWCO"]
    assert (newco.price, newco.value, newco.daily_change, newco.unrealised_gain, newco.weight) == (
        None, None, None, None, None
    )  # fmt: skip
    assert newco.cost_basis == Decimal("5000.00")  # what was paid is known
    assert newco.missing == ["no price yet"]
    ipo = holdings["IPO"]
    assert (ipo.value, ipo.daily_change, ipo.daily_change_percent) == (
        Decimal("100.00"),
        None,
        None,
    )
    assert ipo.missing == ["no previous close"]
    toyota = holdings["7203.T"]
    assert toyota.price == Decimal("2800")  # in yen: known
    assert (toyota.value, toyota.cost_basis, toyota.unrealised_gain, toyota.weight) == (
        None, None, None, None
    )  # fmt: skip
    assert toyota.missing == ["no FX rate JPY->USD"]
    # weights are shares of the known value: 200 and 100 of 300
    assert (holdings["AAPL"].weight, ipo.weight) == (Decimal("66.67"), Decimal("33.33"))


@pytest.mark.django_db
def test_a_stale_price_is_flagged_on_its_row_with_the_reason() -> None:
    portfolio = new_portfolio()
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    position_create(portfolio, priced("AAPL", "200", "190"))
    position_create(portfolio, priced("MSFT", "420", "425", stale_reason="yahoo: HTTP 503"))
    position_create(portfolio, priced("KO", "68", "67", last_updated=long_ago, quote_time=long_ago))

    holdings = holdings_of(portfolio)

    assert (holdings["AAPL"].stale, holdings["AAPL"].stale_reason) == (False, None)
    assert (holdings["MSFT"].stale, holdings["MSFT"].stale_reason) == (True, "yahoo: HTTP 503")
    assert holdings["KO"].stale is True
    assert holdings["KO"].stale_reason == "no fresh quote saved within the feed's interval"
    assert holdings["KO"].quote_time == long_ago
    assert holdings["KO"].value == Decimal("680.00")  # stale is still a price


@pytest.mark.django_db
def test_the_totals_equal_the_full_pass_for_every_portfolio() -> None:
    fx_pair("EURUSD=X", "1.0837")
    assets = [
        priced("AAPL", "231.57", "229.01"),
        priced("SAP.DE", "210.13", "200.07", currency="EUR"),
        priced("BTC-USD", "65432.10123456", "64000.5"),
        priced("NEWCO", None),
        priced("IPO", "12.3456", None),
    ]
    ids = []
    for n in range(12):
        portfolio = new_portfolio(base_currency="EUR" if n % 3 == 0 else "USD")
        for k, asset in enumerate(assets):
            if (n + k) % 4:
                position_create(portfolio, asset, f"{n + k}.0{k}7", f"{100 * (n + 1) + k}.5")
        ids.append(portfolio.id)

    full = {v.portfolio_id: v for v in portfolios_value(ids)}
    held = {v.portfolio_id: v for v in portfolios_value_held(ids)}

    assert set(full) == set(held)
    for portfolio_id, valuation in held.items():
        expected = full[portfolio_id]
        for figure in ("total_value", "daily_change", "daily_change_percent", "cost_basis",
                       "unrealised_gain", "positions", "missing", "stale_reasons"):  # fmt: skip
            assert getattr(valuation, figure) == getattr(expected, figure), figure


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_number_of_portfolios() -> None:
    fx_pair("EURUSD=X", "1.25")
    assets = [priced("AAPL", "230", "229"), priced("SAP.DE", "210", "200", currency="EUR")]

    def portfolios(how_many: int) -> list[int]:
        made = [new_portfolio() for _ in range(how_many)]
        for portfolio in made:
            for asset in assets:
                position_create(portfolio, asset)
        return [p.id for p in made]

    few, many = portfolios(2), portfolios(20)
    portfolios_value_held(few)  # the feed's interval is remembered for a few seconds after

    with CaptureQueriesContext(connection) as few_queries:
        assert len(portfolios_value_held(few)) == 2
    with CaptureQueriesContext(connection) as many_queries:
        assert len(portfolios_value_held(many)) == 20

    assert len(few_queries) == len(many_queries) == 3  # FX rates, positions, their prices


# --- what is pushed ------------------------------------------------------------------------


@pytest.fixture
def watched() -> Iterator[Callable[[int], None]]:
    ids: list[int] = []

    def watch(portfolio_id: int) -> None:
        ids.append(portfolio_id)
        watch_touch(kind="portfolio", members=[portfolio_id])

    yield watch
    if ids:
        redis_client().zrem(redis_key("watch", "portfolio"), *map(str, ids))


@pytest.mark.django_db
def test_the_pushed_frame_lists_every_position_with_the_documented_fields(
    watched: Callable[[int], None],
) -> None:
    portfolio = new_portfolio(name="Growth")
    position_create(portfolio, priced("AAPL", "231.50", "229.00"), "10", "2000")
    position_create(portfolio, priced("NEWCO", None), "3", "30")
    watched(portfolio.id)

    [valuation] = portfolios_revalue(symbols=["AAPL"])

    snapshot = snapshot_get(portfolio_group(portfolio.id))
    assert snapshot is not None
    data = orjson.loads(snapshot)["data"]
    guide = ["portfolio_id", "name", "total_value", "daily_change", "daily_change_percent"]
    assert list(data)[: len(guide)] == guide  # the guide's fields first, as they were
    assert data["total_value"] == 2315.0
    assert data["missing"] == ["1 position(s) in USD have no price"]
    aapl, newco = data["holdings"]
    assert list(aapl) == [
        "symbol", "name", "quantity", "price", "currency", "value", "daily_change",
        "daily_change_percent", "cost_basis", "unrealised_gain", "weight", "stale",
        "stale_reason", "quote_time", "missing", "position_id",
    ]  # fmt: skip
    assert (aapl["value"], aapl["weight"], aapl["quantity"]) == (2315.0, 100.0, 10.0)
    assert aapl["quote_time"].endswith("Z")
    assert (newco["symbol"], newco["value"], newco["missing"]) == ("NEWCO", None, ["no price yet"])
    assert valuation.holdings[1].position_id == newco["position_id"]


@pytest.mark.django_db
def test_a_portfolio_left_empty_is_pushed_worth_exactly_zero_with_no_rows() -> None:
    portfolio = new_portfolio(name="Emptied")
    position = position_create(portfolio, priced("AAPL", "200", "190"))
    position_remove(position=position)

    valuation = portfolio_revalue_now(portfolio_id=portfolio.id)

    assert valuation is not None
    data = orjson.loads(snapshot_get(portfolio_group(portfolio.id)) or "{}")["data"]
    assert (data["total_value"], data["positions"], data["holdings"]) == (0.0, 0, [])
    assert (data["complete"], data["daily_change_percent"]) == (True, None)
    assert portfolio_revalue_now(portfolio_id=10**9) is None  # no such portfolio: nothing


@pytest.mark.django_db
def test_the_full_pass_still_carries_no_positions() -> None:
    portfolio = new_portfolio()
    position_create(portfolio, priced("AAPL", "200", "190"))

    [(_, text)] = portfolio_frames_build(portfolios_value([portfolio.id]))

    assert orjson.loads(text)["data"]["holdings"] is None


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_adding_a_position_pushes_the_new_value_with_its_row_at_once(
    celery_worker_process: RunningProcess,
) -> None:
    portfolio = new_portfolio(name="Live")
    position_create(portfolio, priced("AAPL", "200.00", "190.00"), "1", "150")
    priced("MSFT", "400.00", "390.00")

    def add_msft() -> None:  # from a thread: its own database connection, closed after
        try:
            position_add(
                portfolio=portfolio, symbol="MSFT", quantity=Decimal("2"), cost_basis=Decimal("700")
            )
        finally:
            connections.close_all()

    async def add_and_listen() -> dict[str, Any]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(portfolio_group(portfolio.id), channel)
        try:
            await asyncio.to_thread(add_msft)
            # The value pushed for AAPL's own position may still be on its way: skip it.
            async with asyncio.timeout(20):
                while True:
                    message = await layer.receive(channel)
                    data = dict(orjson.loads(message["text"])["data"])
                    if data["positions"] == 2:
                        return data
        finally:
            await layer.group_discard(portfolio_group(portfolio.id), channel)

    data = async_to_sync(add_and_listen)()

    assert data["total_value"] == 1000.0  # 200 + 2 x 400: pushed by the worker on commit
    assert [h["symbol"] for h in data["holdings"]] == ["AAPL", "MSFT"]
    assert data["holdings"][1]["value"] == 800.0
    assert data["holdings"][1]["weight"] == 80.0


@pytest.mark.django_db
def test_no_portfolios_at_all_value_to_nothing_on_either_path() -> None:
    # A user with no portfolio opens the list: the full pass compiled its SQL by hand and
    # raised EmptyResultSet (an HTTP 500) for an empty id list.
    assert portfolios_value([]) == []
    assert portfolios_value_held([]) == []
