"""The stale rule: a portfolio snapshot that predates a save of one of its prices (or of an FX
rate converting them) goes out flagged stale, with its value as computed and its `as_of`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import connections

from apps.market.models import Asset, AssetType
from apps.portfolios.models import Portfolio
from apps.portfolios.selectors import portfolios_prices_saved_newest
from apps.portfolios.services import portfolio_revalue_now
from apps.realtime.hub import FanoutHub
from apps.realtime.snapshot_read import PRICES_CHANGED, snapshot_read
from apps.streams.groups import portfolio_group
from apps.streams.snapshots import portfolio_snapshot_stamp, snapshot_stale_marked
from tests.factories import asset_create, portfolio_create, position_create

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def saved(symbol: str, at: datetime, price: str = "100", **fields: Any) -> Asset:
    return asset_create(
        symbol, current_price=Decimal(price), previous_close=Decimal(price), last_updated=at,
        **fields,
    )  # fmt: skip


def new_portfolio(name: str, base_currency: str = "USD") -> Portfolio:
    owner = User.objects.create(username=f"stale-rule-{name}")
    return portfolio_create(owner, name=name, base_currency=base_currency)


def test_the_newest_save_covers_the_positions_and_the_fx_pairs_that_convert_them() -> None:
    aapl = saved("AAPL", T0)
    sap = saved("SAP.DE", T0 + timedelta(minutes=1), currency="EUR")
    saved("EURUSD=X", T0 + timedelta(minutes=5), "1.08", asset_type=AssetType.FX)
    saved("GBPUSD=X", T0 + timedelta(minutes=9), "1.29", asset_type=AssetType.FX)
    saved("KO", T0 + timedelta(minutes=9))  # held by nobody here
    in_usd, in_eur, mixed = new_portfolio("usd"), new_portfolio("eur", "EUR"), new_portfolio("mix")
    position_create(in_usd, aapl)
    position_create(in_eur, sap)
    position_create(mixed, aapl)
    position_create(mixed, sap)
    empty = new_portfolio("empty")

    newest = portfolios_prices_saved_newest([in_usd.id, in_eur.id, mixed.id, empty.id])

    assert newest == {
        in_usd.id: T0,  # USD only: no FX pair matters, GBPUSD=X and KO least of all
        in_eur.id: T0 + timedelta(minutes=1),  # EUR only, in EUR
        mixed.id: T0 + timedelta(minutes=5),  # converts SAP.DE with EURUSD=X
    }


def test_a_marked_snapshot_keeps_its_value_and_as_of_and_puts_the_new_reason_first() -> None:
    text = (
        '{"type":"portfolio_update","data":{"portfolio_id":7,"total_value":48211.37,'
        '"stale":true,"stale_reason":"1 price(s) in USD are not current",'
        '"as_of":"2026-11-24T09:36:30.009Z"},"timestamp":"2026-11-24T09:36:30.010Z"}'
    )

    marked = orjson.loads(snapshot_stale_marked(text, PRICES_CHANGED))

    assert portfolio_snapshot_stamp(text) == (7, datetime(2026, 11, 24, 9, 36, 30, 9000, UTC))
    assert marked["data"] == {
        "portfolio_id": 7,
        "total_value": 48211.37,
        "stale": True,
        "stale_reason": f"{PRICES_CHANGED}; 1 price(s) in USD are not current",
        "as_of": "2026-11-24T09:36:30.009Z",
    }
    assert marked["timestamp"] == "2026-11-24T09:36:30.010Z"


def test_many_subscribes_at_once_each_get_their_own_answer() -> None:
    """A burst of portfolio subscribes through the real snapshot path (store, selector)."""
    aapl, msft = saved("AAPL", T0), saved("MSFT", T0)
    portfolios = [new_portfolio(f"burst{n}") for n in range(20)]
    for n, portfolio in enumerate(portfolios):
        position_create(portfolio, aapl if n % 2 else msft, "10", "900")
        assert portfolio_revalue_now(portfolio_id=portfolio.id) is not None  # snapshot kept
    # AAPL is saved after every snapshot was computed; MSFT is not.
    Asset.objects.filter(pk=aapl.pk).update(
        current_price=Decimal("101"), last_updated=datetime.now(UTC)
    )

    async def subscribe_all() -> list[dict[str, Any]]:
        hub = FanoutHub(get_channel_layer())
        texts = await asyncio.gather(
            *(snapshot_read(hub, portfolio_group(p.id)) for p in portfolios)
        )
        await sync_to_async(connections.close_all)()  # the ORM thread's connection
        return [orjson.loads(text or "null")["data"] for text in texts]

    snapshots = asyncio.run(subscribe_all())

    for n, data in enumerate(snapshots):
        assert data["portfolio_id"] == portfolios[n].id
        assert data["total_value"] == 1000.0  # as computed: 10 x 100, never recomputed here
        if n % 2:
            assert (data["stale"], data["stale_reason"]) == (True, PRICES_CHANGED)
        else:
            assert (data["stale"], data["stale_reason"]) == (False, None)
