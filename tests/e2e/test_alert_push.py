"""Alerts pushed to people through real uvicorn sockets: every open tab of the owner gets each
firing once, nobody else gets it, a tick still beyond the threshold sends nothing; and a price
batch run by the real worker pushes symbol and portfolio alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.alerts.evaluation import alerts_check_symbols
from apps.market.models import Asset
from tests.conftest import LiveServer, RunningProcess
from tests.e2e.ws import WsClient, session_cookie
from tests.factories import asset_create, portfolio_create, position_create, user_create
from tests.integration.test_alert_checks import alert_on, priced, reprice

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


async def signed_in(server: LiveServer, headers: dict[str, str]) -> WsClient:
    """A signed-in socket that has joined its owner's group (connect has run to its end
    once a ping is answered: the consumer handles one message at a time)."""
    client = await WsClient.open(server.ws_url, additional_headers=headers)
    assert (await client.recv())["type"] == "connection"
    await client.send("ping")
    await client.recv_type("pong")
    return client


async def in_thread(work: Callable[[], Any]) -> Any:
    """Database work off the event loop, its connection closed after (it is another thread's)."""

    def run() -> Any:
        try:
            return work()
        finally:
            connection.close()

    return await asyncio.to_thread(run)


def save_and_check(asset: Asset, price: str) -> list[int]:
    """What a price batch does: save the price, then check the symbol's alerts."""
    reprice(asset, price)
    return alerts_check_symbols(symbols=[asset.symbol]).fired


def test_an_alert_reaches_every_tab_of_its_owner_once_and_nobody_else(
    web_server: LiveServer,
) -> None:
    ada, grace = user_create(username="ada"), user_create(username="grace")
    aapl, msft = priced("AAPL", "190", "199.00"), priced("MSFT", "400")
    crossed = alert_on(ada, aapl, "above", "200")
    adas_msft = alert_on(ada, msft, "above", "500")
    graces_msft = alert_on(grace, msft, "below", "300")
    cookies = {user.pk: session_cookie(user) for user in (ada, grace)}

    async def scenario() -> tuple[list[dict], list[dict], dict]:
        tabs = [await signed_in(web_server, cookies[ada.pk]) for _ in range(2)]
        theirs = await signed_in(web_server, cookies[grace.pk])
        assert await in_thread(lambda: save_and_check(aapl, "201.34")) == [crossed.pk]
        first = [await tab.recv_type("alert") for tab in tabs]
        # Grace's first alert is her own, published after Ada's: Ada's never reached her.
        assert await in_thread(lambda: save_and_check(msft, "290")) == [graces_msft.pk]
        graces_first = await theirs.recv_type("alert")
        # Still beyond the threshold: nothing fires, so the next alert each tab gets is MSFT.
        assert await in_thread(lambda: save_and_check(aapl, "205")) == []
        assert await in_thread(lambda: save_and_check(msft, "510")) == [adas_msft.pk]
        second = [await tab.recv_type("alert") for tab in tabs]
        for client in [*tabs, theirs]:
            await client.close()
        return first, second, graces_first

    first, second, graces_first = asyncio.run(scenario())

    assert first[0]["data"] == first[1]["data"]
    alert = first[0]["data"]
    assert {key: alert[key] for key in ("alert_id", "target", "symbol", "condition", "value")} == {
        "alert_id": crossed.pk, "target": "symbol", "symbol": "AAPL", "condition": "above",
        "value": 201.34,
    }  # fmt: skip
    assert alert["message"] == "AAPL rose to 201.34 USD, above 200.00"
    assert (alert["threshold"], alert["currency"], alert["change_percent"]) == (
        200.0,
        "USD",
        1.1759,
    )
    assert alert["fired_at"].endswith("Z")
    assert [tab["data"]["alert_id"] for tab in second] == [adas_msft.pk, adas_msft.pk]
    assert graces_first["data"]["alert_id"] == graces_msft.pk


@pytest.mark.slow
def test_a_batch_run_by_the_worker_pushes_symbol_and_portfolio_alerts(
    web_server: LiveServer, celery_worker_process: RunningProcess
) -> None:
    from workers.tasks import fetch_price_batch

    ada = user_create(username="ada")
    aapl = asset_create("AAPL")
    growth = portfolio_create(ada, name="Growth", base_currency="USD")
    position_create(growth, aapl, quantity="10", cost_basis="1500")
    on_symbol = alert_on(ada, aapl, "above", "0.01")  # any price at all crosses these
    on_portfolio = alert_on(ada, growth, "above", "0.01")  # nobody watches the portfolio
    cookie = session_cookie(ada)

    async def scenario() -> list[dict]:
        tab = await signed_in(web_server, cookie)
        await asyncio.to_thread(lambda: fetch_price_batch.delay(["AAPL"], "simulated"))
        alerts = [await tab.recv_type("alert", timeout=60) for _ in range(2)]
        await tab.close()
        return alerts

    alerts = {message["data"]["target"]: message["data"] for message in asyncio.run(scenario())}

    price = Asset.objects.get(symbol="AAPL").current_price
    assert price is not None
    assert alerts["symbol"]["alert_id"] == on_symbol.pk
    assert alerts["symbol"]["value"] == float(price)
    assert alerts["portfolio"]["alert_id"] == on_portfolio.pk
    assert alerts["portfolio"]["portfolio_id"] == growth.pk
    assert alerts["portfolio"]["message"].startswith("Portfolio “Growth” rose to ")
