"""Saving quotes: ordering by quote time, rejected quotes, stale flags, snapshots after commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.alerts.models import Alert
from apps.market.models import Asset
from apps.market.pipeline import SymbolLocks, price_batch_fetch
from apps.market.providers.base import MarketState, Quote
from apps.market.selectors import symbols_due
from apps.market.services import assets_mark_failed, quotes_save
from apps.streams.groups import asset_group
from apps.streams.snapshots import snapshot_get
from tests.factories import asset_create, portfolio_create, position_create

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime.now(UTC).replace(microsecond=0)


def quote(symbol: str = "AAPL", price: str = "100", at: datetime = NOW, **fields: object) -> Quote:
    values: dict[str, object] = {
        "previous_close": Decimal("98"),
        "day_high": Decimal(price) + 1,
        "day_low": Decimal(price) - 1,
        "volume": 1000,
        "currency": "USD",
        "source": "test",
        "market_state": MarketState.OPEN,
    } | fields
    return Quote(symbol=symbol, price=Decimal(price), quote_time=at, **values)  # type: ignore[arg-type]


def snapshot(symbol: str) -> dict:
    text = snapshot_get(asset_group(symbol))
    assert text is not None
    return json.loads(text)["data"]


def test_saved_quote_updates_the_asset_and_its_snapshot() -> None:
    asset_create("AAPL")
    result = quotes_save(quotes=[quote(price="101.5")], publish=False)
    assert result.changed == ["AAPL"]
    asset = Asset.objects.get(symbol="AAPL")
    assert asset.current_price == Decimal("101.5")
    assert asset.quote_time == NOW
    assert asset.source == "test"
    data = snapshot("AAPL")
    assert data["price"] == 101.5
    assert data["change"] == 3.5
    assert data["stale"] is False


def test_an_older_quote_never_overwrites_a_newer_one() -> None:
    asset_create("AAPL")
    quotes_save(quotes=[quote(price="110", at=NOW)], publish=False)
    result = quotes_save(quotes=[quote(price="90", at=NOW - timedelta(seconds=30))], publish=False)
    assert result.older == ["AAPL"]
    assert Asset.objects.get(symbol="AAPL").current_price == Decimal("110")
    assert snapshot("AAPL")["price"] == 110.0


def test_the_same_quote_twice_is_unchanged() -> None:
    asset_create("AAPL")
    quotes_save(quotes=[quote()], publish=False)
    assert quotes_save(quotes=[quote()], publish=False).unchanged == ["AAPL"]


def test_a_rejected_quote_keeps_the_last_good_value_flagged_stale() -> None:
    asset_create("AAPL")
    quotes_save(quotes=[quote(price="100")], publish=False)
    bad = quote(price="100000", at=NOW + timedelta(seconds=10), previous_close=Decimal("99000"))
    result = quotes_save(quotes=[bad], publish=False)
    assert "jumped" in result.rejected["AAPL"]
    assert result.newly_stale == ["AAPL"]
    asset = Asset.objects.get(symbol="AAPL")
    assert asset.current_price == Decimal("100")
    assert asset.stale_reason.startswith("rejected quote: price jumped")
    assert snapshot("AAPL")["stale"] is True
    good = quote(price="101", at=NOW + timedelta(seconds=20))
    quotes_save(quotes=[good], publish=False)
    assert Asset.objects.get(symbol="AAPL").stale_reason == ""


def test_quote_for_a_symbol_not_in_the_database_is_ignored() -> None:
    assert quotes_save(quotes=[quote("NOPE")], publish=False).unknown == ["NOPE"]


def test_failed_symbols_are_flagged_stale_once() -> None:
    asset_create("AAPL")
    quotes_save(quotes=[quote()], publish=False)
    assert assets_mark_failed(failures={"AAPL": "yahoo: timeout"}, publish=False) == ["AAPL"]
    assert assets_mark_failed(failures={"AAPL": "yahoo: timeout"}, publish=False) == []
    asset = Asset.objects.get(symbol="AAPL")
    assert asset.current_price == Decimal("100")
    assert asset.stale_reason == "no fresh quote: yahoo: timeout"


def test_a_batch_already_in_flight_is_not_fetched_twice() -> None:
    asset_create("AAPL")
    locks = SymbolLocks.take(["AAPL"], seconds=30)
    assert locks.symbols == ["AAPL"]
    try:
        summary = price_batch_fetch(symbols=["AAPL"], source="simulated", publish=False)
    finally:
        locks.release()
    assert summary.skipped == "every symbol is already in flight"
    assert summary.in_flight == ["AAPL"]
    assert Asset.objects.get(symbol="AAPL").current_price is None


def test_simulated_batch_saves_every_symbol_with_its_source() -> None:
    for symbol in ("AAPL", "BTC-USD", "EURUSD=X"):
        asset_create(symbol)
    summary = price_batch_fetch(
        symbols=["AAPL", "BTC-USD", "EURUSD=X"], source="simulated", publish=False
    )
    assert sorted(summary.changed) == ["AAPL", "BTC-USD", "EURUSD=X"]
    assert summary.sources == {"simulated": 3}
    assert set(Asset.objects.values_list("source", flat=True)) == {"simulated"}


def test_due_symbols_are_held_watched_always_on_or_fx_and_skip_closed_markets() -> None:
    held, idle, always = asset_create("AAPL"), asset_create("IBM"), asset_create("KO")
    asset_create("EURUSD=X", asset_type="fx")
    Asset.objects.filter(pk=always.pk).update(always_refresh=True)
    position_create(portfolio_create(), held)
    closed = asset_create("SAP.DE")
    position_create(portfolio_create(), closed)
    Asset.objects.filter(pk=closed.pk).update(market_state="closed", last_updated=NOW)
    Asset.objects.filter(pk=idle.pk).update(is_active=True)
    assert symbols_due(now=NOW) == ["AAPL", "EURUSD=X", "KO"]
    later = NOW + timedelta(hours=1)
    assert "SAP.DE" in symbols_due(now=later)


def test_a_symbol_under_a_live_alert_is_due_and_a_paused_one_is_not() -> None:
    alerted, paused = asset_create("NFLX"), asset_create("ORCL")
    owner = portfolio_create().owner
    Alert.objects.create(owner=owner, asset=alerted, condition="above", threshold=Decimal(1))
    Alert.objects.create(
        owner=owner, asset=paused, condition="below", threshold=Decimal(1), paused=True
    )
    assert symbols_due(now=NOW) == ["NFLX"]
