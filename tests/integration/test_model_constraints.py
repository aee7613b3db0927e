"""The database itself refuses bad rows (checked on PostgreSQL in CI)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from apps.market.models import Asset, PriceBar
from apps.portfolios.models import Position
from tests.factories import asset_create, portfolio_create, position_create

pytestmark = pytest.mark.django_db


def test_duplicate_symbol_is_refused() -> None:
    asset_create("AAPL")
    with pytest.raises(IntegrityError), transaction.atomic():
        asset_create("AAPL")


def test_symbol_is_stored_upper_case_so_case_variants_collide() -> None:
    asset = asset_create("brk-b")
    asset.refresh_from_db()
    assert asset.symbol == "BRK-B"
    assert Asset.objects.get(symbol="brk-b") == asset
    with pytest.raises(IntegrityError), transaction.atomic():
        asset_create("Brk-B")


@pytest.mark.parametrize("quantity", ["0", "-1", "-0.0000000001"])
def test_non_positive_quantity_is_refused_by_the_database(quantity: str) -> None:
    portfolio, asset = portfolio_create(), asset_create("MSFT")
    with pytest.raises(IntegrityError), transaction.atomic():
        position_create(portfolio, asset, quantity=quantity)
    assert not Position.objects.exists()


def test_duplicate_position_in_one_portfolio_is_refused() -> None:
    portfolio, asset = portfolio_create(), asset_create("NVDA")
    position_create(portfolio, asset)
    with pytest.raises(IntegrityError), transaction.atomic():
        position_create(portfolio, asset, quantity="5")


def test_same_asset_in_two_portfolios_is_fine() -> None:
    asset = asset_create("SPY")
    position_create(portfolio_create(), asset)
    position_create(portfolio_create(), asset)
    assert asset.positions.count() == 2


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite keeps decimals as floats; PostgreSQL is exact"
)
def test_fractional_crypto_and_penny_prices_keep_their_digits() -> None:
    asset = asset_create(
        "SHIB-USD", current_price=Decimal("0.00001234"), previous_close=Decimal("1234567.12345678")
    )
    position = position_create(portfolio_create(), asset, quantity="123456789.0123456789")
    asset.refresh_from_db()
    position.refresh_from_db()
    assert asset.current_price == Decimal("0.00001234")
    assert asset.previous_close == Decimal("1234567.12345678")
    assert position.quantity == Decimal("123456789.0123456789")


@pytest.mark.parametrize("price", ["0", "-1.5"])
def test_zero_or_negative_price_is_refused(price: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        asset_create("KO", current_price=Decimal(price))


def test_day_high_below_day_low_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        asset_create("JPM", day_high=Decimal("10"), day_low=Decimal("11"))


def test_one_price_bar_per_asset_and_day() -> None:
    asset = asset_create("META")
    bar = {"open": 1, "high": 2, "low": 1, "close": 2}
    PriceBar.objects.create(asset=asset, date=date(2026, 1, 2), **bar)
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceBar.objects.create(asset=asset, date=date(2026, 1, 2), **bar)


@pytest.mark.parametrize("symbol", ["AAPL MSFT", "<b>", "AAPL;", "-X"])
def test_model_validation_rejects_text_that_is_no_ticker(symbol: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Asset(symbol=symbol, currency="USD").full_clean()
    assert "symbol" in raised.value.message_dict


def test_currency_must_be_an_iso_code() -> None:
    with pytest.raises(ValidationError) as raised:
        Asset(symbol="AAPL", currency="usd").full_clean()
    assert "currency" in raised.value.message_dict
