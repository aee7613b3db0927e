"""A periodic tick end to end: a real worker runs refresh_prices on the simulated source, and a
subscriber on the real channel layer receives the asset and portfolio updates."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from celery.result import AsyncResult
from channels.layers import get_channel_layer

from apps.market.intraday import intraday_get
from apps.market.models import Asset
from apps.portfolios.models import Portfolio
from apps.streams.groups import FRAME_EVENT, asset_group, portfolio_group
from apps.streams.snapshots import snapshot_get
from apps.streams.watching import watch_touch
from tests.conftest import ROOT, RunningProcess, wait_until
from tests.factories import asset_create, portfolio_create, position_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CENT = Decimal("0.01")


async def receive_updates(
    groups: list[str], trigger: Callable[[], Any], done: Callable[[list[dict]], bool]
) -> list[dict]:
    """Join the groups on the real layer, run `trigger`, collect frames until `done`."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    await asyncio.to_thread(trigger)
    frames: list[dict] = []
    async with asyncio.timeout(30):
        while not done(frames):
            event = await layer.receive(channel)
            assert event["type"] == FRAME_EVENT
            frames.append(json.loads(event["text"]))
    for group in groups:
        await layer.group_discard(group, channel)
    return frames


def test_tick_saves_prices_and_pushes_asset_and_portfolio_updates(
    celery_worker_process: RunningProcess,
) -> None:
    from workers.tasks import refresh_prices

    aapl, sap = asset_create("AAPL", currency="USD"), asset_create("SAP.DE", currency="EUR")
    asset_create("EURUSD=X", currency="USD", asset_type="fx")
    portfolio = portfolio_create(name="Growth", base_currency="USD")
    position_create(portfolio, aapl, quantity="10", cost_basis="1500")
    position_create(portfolio, sap, quantity="4", cost_basis="700")
    watch_touch(kind="portfolio", members=[portfolio.pk])

    frames = asyncio.run(
        receive_updates(
            [asset_group("AAPL"), portfolio_group(portfolio.pk)],
            lambda: refresh_prices.delay(),
            # Position saves push early, incomplete values (no prices yet): wait for the tick's.
            lambda frames: (
                any(f["type"] == "asset_update" for f in frames)
                and any(f["type"] == "portfolio_update" and f["data"]["complete"] for f in frames)
            ),
        )
    )

    saved = {a.symbol: a for a in Asset.objects.all()}
    assert all(a.current_price and a.source == "simulated" for a in saved.values())
    asset_update = next(f for f in frames if f["type"] == "asset_update")
    assert asset_update["timestamp"].endswith("Z")
    data = asset_update["data"]
    assert data["symbol"] == "AAPL"
    assert Decimal(str(data["price"])) == saved["AAPL"].current_price
    assert data["source"] == "simulated"
    assert data["stale"] is False
    assert {"change", "change_percent", "volume", "high", "low", "currency"} <= set(data)
    assert snapshot_get(asset_group("AAPL"))
    assert intraday_get("AAPL")

    valuation = [f for f in frames if f["type"] == "portfolio_update"][-1]["data"]
    assert valuation["complete"] is True
    rate = saved["EURUSD=X"].current_price
    expected_total = (
        10 * saved["AAPL"].current_price + 4 * saved["SAP.DE"].current_price * rate
    ).quantize(CENT)
    expected_change = (
        10 * (saved["AAPL"].current_price - saved["AAPL"].previous_close)
        + 4 * (saved["SAP.DE"].current_price - saved["SAP.DE"].previous_close) * rate
    ).quantize(CENT)
    assert valuation["portfolio_id"] == portfolio.pk
    assert valuation["name"] == "Growth"
    assert Decimal(str(valuation["total_value"])) == expected_total
    assert Decimal(str(valuation["daily_change"])) == expected_change
    assert valuation["complete"] is True
    assert valuation["currency"] == "USD"


def test_unwatched_portfolio_is_not_pushed(celery_worker_process: RunningProcess) -> None:
    from workers.tasks import revalue_portfolios

    asset = asset_create("MSFT")
    watched, unwatched = portfolio_create(), portfolio_create()
    position_create(watched, asset)
    position_create(unwatched, asset)
    Asset.objects.filter(pk=asset.pk).update(current_price=Decimal("100"))
    watch_touch(kind="portfolio", members=[watched.pk])
    result = revalue_portfolios.delay(["MSFT"]).get(timeout=30)
    assert result == {"symbols": 1, "portfolios": 1}
    assert Portfolio.objects.count() == 2


def test_a_position_change_pushes_a_fresh_value_at_once(
    celery_worker_process: RunningProcess,
) -> None:
    asset = asset_create("NVDA")
    Asset.objects.filter(pk=asset.pk).update(
        current_price=Decimal("100"), previous_close=Decimal("90")
    )
    portfolio = portfolio_create(name="Chips", base_currency="USD")
    position = position_create(portfolio, asset, quantity="3")

    def edit_position() -> None:
        position.quantity = Decimal("5")
        position.save()

    frames = asyncio.run(
        receive_updates(
            [portfolio_group(portfolio.pk)],
            edit_position,
            lambda frames: any(f["data"]["total_value"] == 500.0 for f in frames),
        )
    )
    pushed = next(f["data"] for f in frames if f["data"]["total_value"] == 500.0)
    assert pushed["daily_change"] == 50.0
    assert pushed["daily_change_percent"] == 11.1111


def test_celery_call_forces_an_update_as_the_readme_says(
    celery_worker_process: RunningProcess, child_env: dict[str, str]
) -> None:
    asset_create("AAPL")
    asset_create("MSFT")
    result = subprocess.run(
        ["celery", "-A", "config", "call", "workers.tasks.refresh_prices",
         "--kwargs", '{"symbols": ["AAPL"]}'],
        cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    task_id = result.stdout.strip()
    assert AsyncResult(task_id).get(timeout=30) == {"symbols": 1, "batches": 1, "batch_size": 50}
    wait_until(
        lambda: Asset.objects.get(symbol="AAPL").current_price is not None,
        timeout=30, what="AAPL to be priced",
    )  # fmt: skip
    assert Asset.objects.get(symbol="MSFT").current_price is None
