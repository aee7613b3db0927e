"""Group names and encode-once frames, as both the pipeline and the WebSocket front use them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest
from channels.layers import BaseChannelLayer

from apps.streams.frames import frame_encode, wire_time
from apps.streams.groups import FRAME_EVENT, asset_group, group_event, portfolio_group

TICKERS = ["AAPL", "^GSPC", "EURUSD=X", "BRK-B", "SAP.DE", "BTC-USD", "ES=F", "0700.HK", "BRKB"]
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LAYER = BaseChannelLayer()


@pytest.mark.parametrize("symbol", TICKERS)
def test_asset_group_names_are_accepted_by_channels(symbol: str) -> None:
    assert LAYER.require_valid_group_name(asset_group(symbol))


def test_the_longest_ticker_still_makes_a_valid_group_name() -> None:
    longest = "^" + "A" * 29 + "=X"  # 32 characters, both escaped characters

    assert LAYER.require_valid_group_name(asset_group(longest))


def test_asset_group_names_are_distinct_per_symbol() -> None:
    names = [asset_group(symbol) for symbol in TICKERS]

    assert len(set(names)) == len(TICKERS)


def test_plain_tickers_keep_their_name_and_others_are_escaped() -> None:
    assert asset_group("AAPL") == "asset.AAPL"
    assert asset_group("BRK-B") == "asset.BRK-B"
    assert asset_group("SAP.DE") == "asset.SAP.DE"
    assert asset_group("^GSPC") == "asset._5EGSPC"
    assert asset_group("EURUSD=X") == "asset.EURUSD_3DX"


def test_portfolio_group_names_are_accepted_by_channels_and_never_clash_with_assets() -> None:
    assert portfolio_group(42) == "portfolio.42"
    assert LAYER.require_valid_group_name(portfolio_group(42))
    assert portfolio_group(42) not in {asset_group(symbol) for symbol in TICKERS}


def test_a_frame_is_the_guides_envelope_with_a_utc_timestamp() -> None:
    at = datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)

    frame = orjson.loads(frame_encode("asset_update", {"symbol": "AAPL"}, at=at))

    assert frame == {
        "type": "asset_update",
        "data": {"symbol": "AAPL"},
        "timestamp": "2024-01-15T10:30:00.123Z",
    }


def test_a_frame_without_a_time_is_stamped_now_in_utc() -> None:
    before = datetime.now(UTC)

    stamp = orjson.loads(frame_encode("pong", {}))["timestamp"]

    assert UTC_Z.match(stamp)
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= moment <= datetime.now(UTC)


def test_money_is_sent_as_json_numbers() -> None:
    text = frame_encode(
        "asset_update",
        {"price": Decimal("231.50"), "change": Decimal("-1.25"), "change_percent": None},
    )

    data = orjson.loads(text)["data"]
    assert data == {"price": 231.5, "change": -1.25, "change_percent": None}
    assert '"price":231.5' in text


def test_datetimes_in_the_data_are_iso_strings_in_utc_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    data = {
        "quote_time": datetime(2024, 1, 15, 11, 30, tzinfo=paris),
        "as_of": datetime(2024, 1, 15, 10, 30, 5, 250000, tzinfo=UTC),
        "nested": {"at": datetime(2024, 1, 15, 10, 30, tzinfo=UTC)},
        "day": date(2024, 1, 15),
    }

    decoded = orjson.loads(frame_encode("asset_update", data))["data"]

    assert decoded == {
        "quote_time": "2024-01-15T10:30:00.000Z",
        "as_of": "2024-01-15T10:30:05.250Z",
        "nested": {"at": "2024-01-15T10:30:00.000Z"},
        "day": "2024-01-15",
    }


def test_wire_time_converts_to_utc() -> None:
    new_york = timezone(timedelta(hours=-5))

    assert wire_time(datetime(2024, 1, 15, 5, 30, tzinfo=new_york)) == "2024-01-15T10:30:00.000Z"


def test_a_value_that_has_no_json_form_is_refused() -> None:
    with pytest.raises(TypeError):
        frame_encode("asset_update", {"bad": object()})


def test_the_group_event_carries_the_encoded_text_unchanged() -> None:
    text = frame_encode("asset_update", {"symbol": "AAPL", "price": Decimal("1.5")})

    assert group_event("asset.AAPL", text) == {
        "type": FRAME_EVENT,
        "group": "asset.AAPL",
        "text": text,
    }
