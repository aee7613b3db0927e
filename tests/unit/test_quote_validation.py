"""Quote validation: a bad quote is refused with a reason a person can act on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.market.providers.base import MarketState, Quote
from apps.market.validation import quote_problem

NOW = datetime(2025, 3, 12, 14, 30, tzinfo=UTC)


def quote(**fields: Any) -> Quote:
    """A sound AAPL quote; override what the test is about."""
    values: dict[str, Any] = {
        "symbol": "AAPL",
        "price": Decimal("231.50"),
        "previous_close": Decimal("229.00"),
        "day_high": Decimal("232.00"),
        "day_low": Decimal("228.75"),
        "volume": 41_000_000,
        "currency": "USD",
        "quote_time": NOW - timedelta(seconds=15),
        "source": "test",
        "market_state": MarketState.OPEN,
    }
    values.update(fields)
    return Quote(**values)


def problem(q: Quote, last_price: str | None = "230.00") -> str | None:
    return quote_problem(q, last_price=Decimal(last_price) if last_price else None, now=NOW)


def test_a_normal_quote_passes() -> None:
    assert problem(quote()) is None


def test_a_normal_quote_passes_when_nothing_was_saved_before() -> None:
    assert problem(quote(), last_price=None) is None


def test_a_quote_without_previous_close_passes() -> None:
    assert problem(quote(previous_close=None)) is None


def test_a_quote_without_day_range_or_volume_passes() -> None:
    assert problem(quote(day_high=None, day_low=None, volume=None)) is None


@pytest.mark.parametrize("price", ["0", "-1.25"])
def test_a_price_that_is_not_positive_is_refused(price: str) -> None:
    reason = problem(quote(price=Decimal(price), day_high=None, day_low=None), last_price=None)

    assert reason == f"price {price} is not positive"


@pytest.mark.parametrize("field", ["price", "previous_close", "day_high", "day_low"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_a_price_that_is_not_a_finite_number_is_refused(field: str, value: str) -> None:
    assert problem(quote(**{field: Decimal(value)})) == "price is not a finite number"


def test_a_day_high_below_the_day_low_is_refused() -> None:
    reason = problem(quote(day_high=Decimal("228.00"), day_low=Decimal("232.00")))

    assert reason == "day high 228.00 is below day low 232.00"


def test_a_day_low_that_is_not_positive_is_refused() -> None:
    assert problem(quote(day_low=Decimal("0"))) == "day low 0 is not positive"


@pytest.mark.parametrize("previous_close", ["0", "-3", "0.0001", "11.50"])
def test_a_previous_close_near_zero_is_refused(previous_close: str) -> None:
    reason = problem(quote(previous_close=Decimal(previous_close)))

    assert reason == f"previous close {previous_close} is near zero against price 231.50"


def test_a_previous_close_at_a_twentieth_of_the_price_passes() -> None:
    assert problem(quote(price=Decimal("200"), previous_close=Decimal("10"), day_low=None)) is None


@pytest.mark.parametrize(
    ("last_price", "price"),
    [("230.00", "1150.01"), ("230.00", "45.99"), ("2.30", "230.00"), ("23000", "230.00")],
)
def test_an_absurd_jump_from_the_last_saved_price_is_refused(last_price: str, price: str) -> None:
    q = quote(price=Decimal(price), previous_close=None, day_high=None, day_low=None)

    assert problem(q, last_price=last_price) == f"price jumped from {last_price} to {price}"


@pytest.mark.parametrize("price", ["1150.00", "46.00"])
def test_a_move_of_up_to_five_times_is_a_market_not_an_error(price: str) -> None:
    q = quote(price=Decimal(price), previous_close=None, day_high=None, day_low=None)

    assert problem(q, last_price="230.00") is None


def test_a_quote_from_the_future_is_refused() -> None:
    future = NOW + timedelta(minutes=6)

    reason = problem(quote(quote_time=future))

    assert reason == f"quote time {future.isoformat()} is in the future"


def test_a_quote_a_little_ahead_of_our_clock_passes() -> None:
    assert problem(quote(quote_time=NOW + timedelta(minutes=4))) is None


def test_an_old_quote_passes() -> None:
    assert problem(quote(quote_time=NOW - timedelta(days=3))) is None


def test_a_negative_volume_is_refused() -> None:
    assert problem(quote(volume=-1)) == "volume -1 is negative"


def test_a_zero_volume_passes() -> None:
    assert problem(replace(quote(), volume=0)) is None
