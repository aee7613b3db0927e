"""Every server message type has one builder in the stream contract; each frame has the
guide's envelope and, for updates, the guide's fields under their names."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from apps.streams.frames import (
    ServerType,
    asset_update_frame,
    batch_frame,
    connection_frame,
    error_frame,
    pong_frame,
    portfolio_update_frame,
    subscribed_frame,
    unsubscribed_frame,
)
from apps.streams.payloads import AssetUpdate, PortfolioUpdate

MOMENT = datetime(2026, 11, 24, 9, 36, 30, 4000, tzinfo=UTC)
AAPL = AssetUpdate(
    symbol="AAPL", price=Decimal("246.33"), change=Decimal("2.13"),
    change_percent=Decimal("0.8722"), volume=2454602, high=Decimal("246.9"),
    low=Decimal("243.1"), currency="USD", previous_close=Decimal("244.2"), source="simulated",
    quote_time=MOMENT, market_state="open", stale=False, stale_reason=None,
)  # fmt: skip
GROWTH = PortfolioUpdate(
    portfolio_id=1, name="Growth", total_value=Decimal("48211.37"),
    daily_change=Decimal("312.50"), daily_change_percent=Decimal("0.6524"), currency="USD",
    cost_basis=Decimal("32050.00"), unrealised_gain=Decimal("16161.37"), positions=5,
    complete=True, missing=[], stale=False, as_of=MOMENT,
)  # fmt: skip


def decoded(text: str) -> dict[str, Any]:
    message = orjson.loads(text)
    assert set(message) == {"type", "data", "timestamp"}
    assert message["timestamp"].endswith("Z")
    return message


def test_asset_update_carries_the_guides_fields_first() -> None:
    group, text = asset_update_frame(AAPL)
    message = decoded(text)

    assert group == "asset.AAPL"
    assert message["type"] == ServerType.ASSET_UPDATE
    guide = ["symbol", "price", "change", "change_percent", "volume", "high", "low"]
    assert list(message["data"])[: len(guide)] == guide
    assert message["data"]["price"] == 246.33
    assert message["data"]["quote_time"] == "2026-11-24T09:36:30.004Z"


def test_portfolio_update_carries_the_guides_fields_first() -> None:
    group, text = portfolio_update_frame(GROWTH)
    message = decoded(text)

    assert group == "portfolio.1"
    assert message["type"] == ServerType.PORTFOLIO_UPDATE
    guide = ["portfolio_id", "name", "total_value", "daily_change", "daily_change_percent"]
    assert list(message["data"])[: len(guide)] == guide
    assert message["data"]["total_value"] == 48211.37


@pytest.mark.parametrize(
    ("text", "message_type", "data"),
    [
        (connection_frame(connection_id="c1", user_id=None), ServerType.CONNECTION,
         {"status": "connected", "connection_id": "c1", "authenticated": False, "user_id": None}),
        (pong_frame(connection_id="c1"), ServerType.PONG, {"connection_id": "c1"}),
        (subscribed_frame({"kind": "asset", "symbol": "AAPL"}), ServerType.SUBSCRIBED,
         {"kind": "asset", "symbol": "AAPL"}),
        (unsubscribed_frame({"kind": "portfolio", "portfolio_id": 3}), ServerType.UNSUBSCRIBED,
         {"kind": "portfolio", "portfolio_id": 3}),
        (error_frame(code="forbidden", message="Not yours.", request_type="subscribe_portfolio"),
         ServerType.ERROR,
         {"code": "forbidden", "message": "Not yours.", "request_type": "subscribe_portfolio"}),
    ],
)  # fmt: skip
def test_control_frames_have_their_documented_data(
    text: str, message_type: ServerType, data: dict[str, Any]
) -> None:
    message = decoded(text)

    assert message["type"] == message_type
    assert message["data"] == data


def test_a_batch_carries_encoded_updates_without_decoding_them() -> None:
    updates = [asset_update_frame(AAPL)[1], portfolio_update_frame(GROWTH)[1]]

    message = decoded(batch_frame(updates))

    assert message["type"] == ServerType.BATCH
    assert [u["type"] for u in message["data"]["updates"]] == ["asset_update", "portfolio_update"]
