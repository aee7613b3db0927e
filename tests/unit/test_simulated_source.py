"""The simulated source: a deterministic offline market that never closes."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from apps.market.providers.base import MarketState
from apps.market.providers.simulated import SimulatedProvider

WEDNESDAY_AFTERNOON = datetime(2025, 3, 12, 14, 37, 23, tzinfo=UTC)
SUNDAY_3AM = datetime(2025, 3, 16, 3, 0, tzinfo=UTC)
SYMBOLS = ["AAPL", "BTC-USD", "EURUSD=X", "SAP.DE", "^GSPC", "ZZTOP"]


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def provider_at(moment: datetime) -> SimulatedProvider:
    return SimulatedProvider(clock=fixed(moment))


def test_the_same_symbol_at_the_same_instant_has_the_same_quote_in_two_providers() -> None:
    first = provider_at(WEDNESDAY_AFTERNOON).quotes(SYMBOLS).quotes
    second = provider_at(WEDNESDAY_AFTERNOON).quotes(SYMBOLS).quotes

    assert first == second
    assert set(first) == set(SYMBOLS)


def test_the_price_moves_as_time_passes() -> None:
    now = provider_at(WEDNESDAY_AFTERNOON).quotes(["AAPL"]).quotes["AAPL"]
    later = provider_at(WEDNESDAY_AFTERNOON + timedelta(hours=2)).quotes(["AAPL"]).quotes["AAPL"]

    assert now.price != later.price


@pytest.mark.parametrize("moment", [WEDNESDAY_AFTERNOON, SUNDAY_3AM])
def test_every_quote_is_from_the_simulated_source_and_the_market_is_open(
    moment: datetime,
) -> None:
    quotes = provider_at(moment).quotes(SYMBOLS).quotes

    assert {quote.source for quote in quotes.values()} == {"simulated"}
    assert {quote.market_state for quote in quotes.values()} == {MarketState.OPEN}
    assert all(quote.quote_time <= moment for quote in quotes.values())
    assert all(moment - quote.quote_time < timedelta(seconds=10) for quote in quotes.values())


@pytest.mark.parametrize("hours", [0, 1, 5, 9, 13, 17, 21, 23.999])
def test_the_price_lies_between_the_day_low_and_high(hours: float) -> None:
    moment = datetime(2025, 3, 12, tzinfo=UTC) + timedelta(hours=hours)

    for quote in provider_at(moment).quotes(SYMBOLS).quotes.values():
        assert quote.day_low is not None
        assert quote.day_high is not None
        assert 0 < quote.day_low <= quote.price <= quote.day_high, quote
        assert quote.volume
        assert quote.volume > 0


@pytest.mark.parametrize("symbol", [*SYMBOLS, "ETH-USD", "USDJPY=X"])
def test_the_previous_close_is_the_close_of_yesterdays_bar(symbol: str) -> None:
    for offset in range(30):
        moment = WEDNESDAY_AFTERNOON + timedelta(days=offset)
        provider = provider_at(moment)

        quote = provider.quotes([symbol]).quotes[symbol]
        yesterday = provider.history([symbol], 1).bars[symbol][-1]

        assert yesterday.day == moment.date() - timedelta(days=1)
        assert quote.previous_close == yesterday.close, (moment, symbol)


def test_todays_open_is_yesterdays_close() -> None:
    bars = provider_at(WEDNESDAY_AFTERNOON).history(["BTC-USD"], 20).bars["BTC-USD"]

    for before, after in pairwise(bars):
        assert after.open == before.close


def test_history_returns_the_asked_number_of_days_ending_yesterday() -> None:
    bars = provider_at(SUNDAY_3AM).history(["AAPL", "EURUSD=X"], 30).bars

    for symbol in ("AAPL", "EURUSD=X"):
        days = [bar.day for bar in bars[symbol]]
        assert len(days) == 30
        assert days[-1] == date(2025, 3, 15)
        assert days[0] == date(2025, 2, 14)
        assert days == sorted(set(days))  # one bar per day, oldest first, no gaps
        assert days[-1] - days[0] == timedelta(days=29)


def test_history_bars_are_consistent_candles() -> None:
    bars = provider_at(WEDNESDAY_AFTERNOON).history(SYMBOLS, 60).bars

    for symbol in SYMBOLS:
        for bar in bars[symbol]:
            assert bar.source == "simulated"
            assert bar.symbol == symbol
            assert bar.high >= max(bar.open, bar.close), bar
            assert 0 < bar.low <= min(bar.open, bar.close), bar


def mean_absolute_daily_move(symbol: str, days: int = 365) -> float:
    bars = provider_at(WEDNESDAY_AFTERNOON).history([symbol], days).bars[symbol]
    closes = [float(bar.close) for bar in bars]
    moves = [abs(math.log(after / before)) for before, after in pairwise(closes)]
    return sum(moves) / len(moves)


def test_crypto_moves_more_than_currencies_and_stocks_in_between() -> None:
    crypto = mean_absolute_daily_move("BTC-USD")
    stock = mean_absolute_daily_move("AAPL")
    fx = mean_absolute_daily_move("EURUSD=X")

    assert crypto > 2 * stock
    assert stock > 2 * fx
    # About the annual volatilities (65%, 30%, 7%) over a 365-day year, times sqrt(2/pi).
    assert 0.65 / math.sqrt(365) * 0.6 < crypto < 0.65 / math.sqrt(365) * 1.0
    assert 0.07 / math.sqrt(365) * 0.6 < fx < 0.07 / math.sqrt(365) * 1.0


def test_prices_stay_near_the_catalog_level_over_years() -> None:
    far_future = datetime(2029, 6, 1, 12, tzinfo=UTC)
    quote = provider_at(far_future).quotes(["AAPL"]).quotes["AAPL"]

    assert 100 < quote.price < 500  # reference 230


@pytest.mark.parametrize(
    ("symbol", "currency"),
    [
        ("AAPL", "USD"),
        ("SAP.DE", "EUR"),
        ("EURUSD=X", "USD"),
        ("USDJPY=X", "JPY"),
        ("GBPCHF=X", "CHF"),
        ("BTC-EUR", "EUR"),
        ("BTC-USD", "USD"),
        ("VOD.L", "GBP"),
        ("ZZTOP", "USD"),
    ],
)
def test_quotes_are_in_the_currency_the_symbol_trades_in(symbol: str, currency: str) -> None:
    quote = provider_at(WEDNESDAY_AFTERNOON).quotes([symbol]).quotes[symbol]

    assert quote.currency == currency


def test_it_covers_any_symbol() -> None:
    assert SimulatedProvider().covers("ANYTHING.XX")
