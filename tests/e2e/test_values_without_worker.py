"""No wrong number on screen with the Celery worker stopped (issue 14's black-box run).

The demo portfolio was valued once before anything was priced (what a worker did at seed
time), then priced with nobody watching, so it was not revalued; no worker runs to answer a
subscribe. A new subscriber must get that snapshot as what it is: value unknown (null, with
the reasons), flagged stale because prices changed since its `as_of`; never 0.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from apps.portfolios.models import Portfolio, Position
from apps.portfolios.services import portfolio_revalue_now
from apps.realtime.snapshot_read import PRICES_CHANGED
from tests.conftest import LiveServer
from tests.e2e.ws import WsClient, session_cookie

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

UNKNOWN = ("total_value", "daily_change", "daily_change_percent", "cost_basis", "unrealised_gain")


def demo_valued_before_prices_then_priced_unwatched() -> Portfolio:
    """seed_demo; the value a worker computed before any price; prices saved, nobody watching."""
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
        growth = Portfolio.objects.get(name="Growth Portfolio")
        assert portfolio_revalue_now(portfolio_id=growth.id) is not None  # the early snapshot
        call_command("update_asset_prices", "--source", "simulated", stdout=quiet, stderr=quiet)
    return growth


def hand_total(portfolio: Portfolio) -> Decimal:
    """quantity x price over the positions, in Decimal (all in USD), to the cent."""
    positions = Position.objects.filter(portfolio=portfolio).select_related("asset")
    total = sum((p.quantity * p.asset.current_price for p in positions), Decimal(0))
    return total.quantize(Decimal("0.01"))


def worker_revalues(portfolio_id: int) -> None:
    """What the `revalue_portfolio` task does, from a thread of this test (no worker runs)."""
    try:
        portfolio_revalue_now(portfolio_id=portfolio_id)
    finally:
        connections.close_all()


async def subscribed_snapshot(client: WsClient, portfolio_id: int) -> dict[str, Any]:
    await client.recv_type("connection")
    await client.send("subscribe_portfolio", {"portfolio_id": portfolio_id})
    ack = await client.recv_type("subscribed")
    assert ack["data"] == {"kind": "portfolio", "portfolio_id": portfolio_id}
    return (await client.recv_type("portfolio_update", timeout=10))["data"]


def test_a_snapshot_from_before_any_price_is_null_and_stale_never_zero(
    web_server: LiveServer,
) -> None:
    growth = demo_valued_before_prices_then_priced_unwatched()
    headers = session_cookie(growth.owner)
    expected = hand_total(growth)
    assert expected > 0

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        first = await WsClient.open(web_server.ws_url, additional_headers=headers)
        snapshot = await subscribed_snapshot(first, growth.id)
        # What a worker would send once one runs: the fresh value, pushed to the subscriber.
        await asyncio.to_thread(worker_revalues, growth.id)
        fresh = (await first.recv_type("portfolio_update"))["data"]
        second = await WsClient.open(web_server.ws_url, additional_headers=headers)
        later = await subscribed_snapshot(second, growth.id)
        await first.close()
        await second.close()
        return snapshot, fresh, later

    snapshot, fresh, later = asyncio.run(scenario())

    assert {key: snapshot[key] for key in UNKNOWN} == dict.fromkeys(UNKNOWN)  # never 0
    assert snapshot["complete"] is False
    assert snapshot["missing"] == ["5 position(s) in USD have no price"]
    assert snapshot["stale"] is True
    assert snapshot["stale_reason"] == PRICES_CHANGED
    as_of = datetime.fromisoformat(snapshot["as_of"])
    assert as_of < datetime.now(UTC)

    assert Decimal(str(fresh["total_value"])) == expected  # about 48,000 USD, to the cent
    assert (fresh["stale"], fresh["stale_reason"], fresh["complete"]) == (False, None, True)
    assert datetime.fromisoformat(fresh["as_of"]) > as_of

    # a snapshot computed after the last price save is not flagged
    assert (later["total_value"], later["stale"]) == (fresh["total_value"], False)
