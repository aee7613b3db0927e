"""The guide's protocol against a real uvicorn, with real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal

import pytest
import websockets

from apps.market.models import Asset
from tests.conftest import LiveServer
from tests.e2e.ws import WsClient, session_cookie
from tests.factories import asset_create, portfolio_create, position_create, user_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def priced(symbol: str, price: str = "100") -> Asset:
    asset = asset_create(symbol)
    Asset.objects.filter(pk=asset.pk).update(
        current_price=Decimal(price), previous_close=Decimal(price) - 2, source="simulated"
    )
    return asset


def test_connection_ping_and_the_message_envelope(web_server: LiveServer) -> None:
    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url)
        hello = await client.recv()
        assert hello["type"] == "connection"
        assert set(hello["data"]) == {"status", "connection_id", "authenticated", "user_id"}
        assert hello["data"]["status"] == "connected"
        assert hello["data"]["authenticated"] is False
        assert ISO_Z.match(hello["timestamp"])
        await client.send("ping", {})
        pong = await client.recv()
        assert pong["type"] == "pong"
        assert ISO_Z.match(pong["timestamp"])
        await client.send("ping")  # `data` may be left out of a ping
        assert (await client.recv())["type"] == "pong"
        await client.close()

    asyncio.run(scenario())


def test_subscribe_asset_acks_then_sends_a_snapshot_and_unsubscribe_acks(
    web_server: LiveServer,
) -> None:
    priced("AAPL", "123.45")

    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url)
        await client.recv()
        await client.send("subscribe_asset", {"symbol": "aapl"})
        ack = await client.recv()
        assert ack["type"] == "subscribed"
        assert ack["data"] == {"kind": "asset", "symbol": "AAPL"}
        snapshot = await client.recv()
        assert snapshot["type"] == "asset_update"
        data = snapshot["data"]
        assert data["symbol"] == "AAPL"
        assert data["price"] == 123.45
        assert data["change"] == 2.0
        for field in ("symbol", "price", "change", "change_percent", "volume", "high", "low"):
            assert field in data
        await client.send("unsubscribe_asset", {"symbol": "AAPL"})
        assert (await client.recv())["type"] == "unsubscribed"
        await client.close()

    asyncio.run(scenario())


ERROR_CASES = [
    ("not json", "invalid_json", None),
    ("[1, 2]", "invalid_message", None),
    ('{"data": {}}', "invalid_message", None),
    ('{"type": "explode", "data": {}}', "unknown_type", "explode"),
    ('{"type": "subscribe_asset"}', "invalid_data", "subscribe_asset"),
    ('{"type": "subscribe_asset", "data": []}', "invalid_data", "subscribe_asset"),
    ('{"type": "subscribe_asset", "data": {"symbol": 5}}', "invalid_data", "subscribe_asset"),
    ('{"type": "subscribe_asset", "data": {"symbol": "AA PL"}}', "invalid_data", "subscribe_asset"),
    ('{"type": "subscribe_asset", "data": {"symbol": "ZZZZ"}}', "unknown_symbol",
     "subscribe_asset"),
    ('{"type": "subscribe_portfolio", "data": {"portfolio_id": 1}}', "auth_required",
     "subscribe_portfolio"),
    ('{"type": "subscribe_portfolio", "data": {"portfolio_id": "x"}}', "invalid_data",
     "subscribe_portfolio"),
    ('{"type": "set_batching", "data": {"enabled": "yes"}}', "invalid_data", "set_batching"),
]  # fmt: skip


def test_every_bad_message_gets_its_error_code_and_the_socket_stays_open(
    web_server: LiveServer,
) -> None:
    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url)
        await client.recv()
        for text, code, request_type in ERROR_CASES:
            await client.connection.send(text)
            error = await client.recv()
            assert error["type"] == "error", text
            assert error["data"]["code"] == code, text
            assert error["data"]["request_type"] == request_type, text
            assert error["data"]["message"]
        await client.send("ping", {})
        assert (await client.recv())["type"] == "pong"
        await client.close()

    asyncio.run(scenario())


def test_another_users_portfolio_is_forbidden_like_one_that_does_not_exist(
    web_server: LiveServer,
) -> None:
    me, other = user_create(), user_create()
    mine, theirs = portfolio_create(owner=me), portfolio_create(owner=other)
    position_create(mine, priced("MSFT"))
    headers = session_cookie(me)

    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url, additional_headers=headers)
        hello = await client.recv()
        assert hello["data"]["authenticated"] is True
        assert hello["data"]["user_id"] == me.pk
        refusals = []
        for portfolio_id in (theirs.pk, 987654321):
            await client.send("subscribe_portfolio", {"portfolio_id": portfolio_id})
            refusals.append((await client.recv())["data"])
        assert [r["code"] for r in refusals] == ["forbidden", "forbidden"]
        await client.send("subscribe_portfolio", {"portfolio_id": mine.pk})
        ack = await client.recv()
        assert ack["type"] == "subscribed"
        assert ack["data"] == {"kind": "portfolio", "portfolio_id": mine.pk}
        await client.close()

    asyncio.run(scenario())


def test_foreign_origin_is_refused_and_no_origin_is_accepted(web_server: LiveServer) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                web_server.ws_url, additional_headers={"Origin": "https://evil.example"}
            )
        assert refused.value.response.status_code == 403
        own = await WsClient.open(web_server.ws_url, origin=websockets.Origin(web_server.http_url))
        assert (await own.recv())["type"] == "connection"
        bare = await WsClient.open(web_server.ws_url)  # no Origin: a script
        assert (await bare.recv())["type"] == "connection"
        await own.close()
        await bare.close()

    asyncio.run(scenario())


def test_token_in_a_header_or_a_subprotocol_authenticates_scripts(web_server: LiveServer) -> None:
    from rest_framework.authtoken.models import Token

    user = user_create()
    key = Token.objects.create(user=user).key

    async def scenario() -> None:
        by_header = await WsClient.open(
            web_server.ws_url, additional_headers={"Authorization": f"Token {key}"}
        )
        assert (await by_header.recv())["data"]["user_id"] == user.pk
        by_protocol = await WsClient.open(
            web_server.ws_url, subprotocols=[websockets.Subprotocol("realtime"),
                                             websockets.Subprotocol(f"token.{key}")]
        )  # fmt: skip
        assert by_protocol.connection.subprotocol == "realtime"
        assert (await by_protocol.recv())["data"]["user_id"] == user.pk
        bad = await WsClient.open(
            web_server.ws_url, additional_headers={"Authorization": "Token nope"}
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await bad.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4001
        await by_header.close()
        await by_protocol.close()

    asyncio.run(scenario())


def test_batched_mode_sends_one_frame_carrying_the_updates(web_server: LiveServer) -> None:
    from apps.streams.frames import frame_encode
    from apps.streams.groups import asset_group
    from apps.streams.publish import frames_publish_rollback_unsafe

    for symbol in ("AAPL", "MSFT"):
        priced(symbol)

    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url)
        await client.recv()
        await client.send("set_batching", {"enabled": True})
        assert (await client.recv())["data"] == {"kind": "batching", "enabled": True}
        for symbol in ("AAPL", "MSFT"):
            await client.send("subscribe_asset", {"symbol": symbol})
            await client.recv_type("asset_update")
        frames = [
            (asset_group(s), frame_encode("asset_update", {"symbol": s, "price": 101}))
            for s in ("AAPL", "MSFT")
        ]
        await asyncio.to_thread(frames_publish_rollback_unsafe, frames)
        batch = await client.recv_type("batch")
        updates = batch["data"]["updates"]
        assert sorted(u["data"]["symbol"] for u in updates) == ["AAPL", "MSFT"]
        assert all(u["type"] == "asset_update" for u in updates)
        await client.close()

    asyncio.run(scenario())


def test_guide_fields_are_json_numbers(web_server: LiveServer) -> None:
    priced("KO", "61.5")

    async def scenario() -> None:
        client = await WsClient.open(web_server.ws_url)
        await client.recv()
        await client.send("subscribe_asset", {"symbol": "KO"})
        update = await client.recv_type("asset_update")
        raw = json.dumps(update["data"])
        assert '"price": 61.5' in raw
        await client.close()

    asyncio.run(scenario())
