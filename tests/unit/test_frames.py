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
from apps.streams.payloads import AssetUpdate, PortfolioUpdate, PositionFigures

MOMENT = datetime(2026, 11, 24, 9, 36, 30, 4000, tzinfo=UTC)
AAPL = AssetUpdate(
    symbol="AAPL", price=Decimal("246.33"), change=Decimal("2.13"),
    change_percent=Decimal("0.8722"), volume=2454602, high=Decimal("246.9"),
    low=Decimal("243.1"), currency="USD", previous_close=Decimal("244.2"), source="simulated",
    quote_time=MOMENT, market_state="open", stale=False, stale_reason=None,
)  # fmt: skip
GROWTH_FIELDS: dict[str, Any] = dict(
    portfolio_id=1, name="Growth", total_value=Decimal("48211.37"),
    daily_change=Decimal("312.50"), daily_change_percent=Decimal("0.6524"), currency="USD",
    cost_basis=Decimal("32050.00"), unrealised_gain=Decimal("16161.37"), positions=5,
    complete=True, missing=[], stale=False, as_of=MOMENT,
)  # fmt: skip
GROWTH = PortfolioUpdate(**GROWTH_FIELDS)


AAPL_HELD = PositionFigures(
    symbol="AAPL", name="Apple Inc.", quantity=Decimal("10"), price=Decimal("246.33"),
    currency="USD", value=Decimal("2463.30"), daily_change=Decimal("21.30"),
    daily_change_percent=Decimal("0.8722"), cost_basis=Decimal("2000.00"),
    unrealised_gain=Decimal("463.30"), weight=Decimal("5.11"), stale=False, stale_reason=None,
    quote_time=MOMENT, missing=[], position_id=7,
)  # fmt: skip
NEWCO_HELD = PositionFigures(
    symbol="NEWCO", name="", quantity=Decimal("3.5"), price=None, currency="USD", value=None,
    daily_change=None, daily_change_percent=None, cost_basis=Decimal("90.00"),
    unrealised_gain=None, weight=None, stale=False, stale_reason=None, quote_time=None,
    missing=["no price yet"], position_id=8,
)  # fmt: skip
POSITION_FIELDS = [
    "symbol", "name", "quantity", "price", "currency", "value", "daily_change",
    "daily_change_percent", "cost_basis", "unrealised_gain", "weight", "stale", "stale_reason",
    "quote_time",
]  # fmt: skip


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


def test_portfolio_update_lists_each_position_with_its_figures_after_the_guides_fields() -> None:
    held = PortfolioUpdate(**{**GROWTH_FIELDS, "holdings": [AAPL_HELD, NEWCO_HELD]})

    data = decoded(portfolio_update_frame(held)[1])["data"]

    guide = ["portfolio_id", "name", "total_value", "daily_change", "daily_change_percent"]
    assert list(data)[: len(guide)] == guide
    assert list(data)[-1] == "holdings"
    aapl, newco = data["holdings"]
    assert list(aapl)[: len(POSITION_FIELDS)] == POSITION_FIELDS
    assert set(aapl) == {*POSITION_FIELDS, "missing", "position_id"}
    assert {key: aapl[key] for key in ("quantity", "price", "value", "weight", "quote_time")} == {
        "quantity": 10.0, "price": 246.33, "value": 2463.3, "weight": 5.11,
        "quote_time": "2026-11-24T09:36:30.004Z",
    }  # fmt: skip
    # unknown is null with the reason, never 0
    unknown = ("price", "value", "daily_change", "daily_change_percent", "unrealised_gain",
               "weight", "quote_time")  # fmt: skip
    assert {key: newco[key] for key in unknown} == dict.fromkeys(unknown)
    assert (newco["missing"], newco["cost_basis"]) == (["no price yet"], 90.0)


def test_a_portfolio_update_without_positions_says_null_not_an_empty_list() -> None:
    data = decoded(portfolio_update_frame(GROWTH)[1])["data"]

    assert data["holdings"] is None  # not computed (the full pass); [] means it holds nothing


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
    # Named, not by their text: it carries a timestamp, and parallel workers must collect
    # the same ids.
    ids=["connection", "pong", "subscribed", "unsubscribed", "error"],
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
