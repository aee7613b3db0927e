"""The simulated source: a deterministic offline market that never closes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from apps.market.catalog import DEMO_ASSETS
from apps.market.providers.base import MarketState, Quote
from apps.market.providers.simulated import VOLATILITY, SimulatedProvider, asset_type_guess

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
    assert all(moment - quote.quote_time < timedelta(seconds=1) for quote in quotes.values())


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


# The price moves every second, between the 10 s points it keeps (issue 15).

ROOT = Path(__file__).resolve().parents[2]
DEMO_SYMBOLS = [asset.symbol for asset in DEMO_ASSETS]
ONE_SECOND = timedelta(seconds=1)
SECONDS_PER_DAY = 86_400


def prices_every_second(symbol: str, start: datetime, seconds: int) -> list[Decimal]:
    provider = SimulatedProvider()
    return [
        provider.quote_at(symbol, start + second * ONE_SECOND).price for second in range(seconds)
    ]


def share_of_seconds_that_change(prices: list[Decimal]) -> float:
    return sum(before != after for before, after in pairwise(prices)) / (len(prices) - 1)


@pytest.mark.parametrize(
    "start",
    [
        WEDNESDAY_AFTERNOON,
        SUNDAY_3AM,
        datetime(2025, 3, 13, 0, 0, tzinfo=UTC),  # the first minute of a day: the narrowest range
        datetime(2025, 3, 12, 23, 59, 30, tzinfo=UTC),  # across midnight
    ],
)
def test_every_demo_price_changes_at_nearly_every_second(start: datetime) -> None:
    shares = {
        symbol: share_of_seconds_that_change(prices_every_second(symbol, start, 61))
        for symbol in DEMO_SYMBOLS
    }

    assert min(shares.values()) >= 0.9, shares
    assert sum(shares.values()) / len(shares) >= 0.95, shares


def test_a_quote_is_timed_to_the_whole_second_it_was_asked_in() -> None:
    provider = SimulatedProvider()
    whole = datetime(2025, 3, 12, 14, 37, 23, tzinfo=UTC)

    late = provider.quote_at("AAPL", whole + timedelta(microseconds=999_999))

    assert late == provider.quote_at("AAPL", whole)
    assert late.quote_time == whole


# Quotes at 10 s points, as the source gave them before it moved every second. Prices below 10
# now carry six decimals (a 1 s move of EUR/USD is about 0.1 pip); rounded to four, unchanged.
TEN_SECOND_POINTS = [  # symbol, UTC instant, (price, previous close, high, low), volume
    ("AAPL", "2025-03-12T14:37:20", ("208.4636", "206.3550", "209.5926", "203.8237"), 8379808),
    (
        "BTC-USD",
        "2025-03-12T00:00:00",
        ("55517.6172", "55532.2485", "55532.2485", "55517.6172"),
        3949,
    ),
    ("EURUSD=X", "2025-03-12T09:05:10", ("1.1311", "1.1327", "1.1345", "1.1310"), 14030398),
    (
        "^GSPC",
        "2025-03-15T23:59:50",
        ("5358.8988", "5355.1236", "5383.9272", "5349.2568"),
        27461657,
    ),
    ("ZZTOP", "2026-01-01T12:00:00", ("447.1042", "453.0311", "454.5905", "445.0904"), 21285237),
    ("USDJPY=X", "2025-07-04T18:20:40", ("151.5027", "151.6315", "151.6958", "151.2380"), 21636439),
]


@pytest.mark.parametrize(("symbol", "instant", "prices", "volume"), TEN_SECOND_POINTS)
def test_the_10_s_points_keep_the_prices_they_had(
    symbol: str, instant: str, prices: tuple[str, str, str, str], volume: int
) -> None:
    moment = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    quote = SimulatedProvider().quote_at(symbol, moment)
    got = (quote.price, quote.previous_close, quote.day_high, quote.day_low)

    assert None not in got
    # quantize() takes the number of places from its argument: the old value's.
    assert tuple(str(Decimal(str(value)).quantize(Decimal(prices[0]))) for value in got) == prices
    assert quote.volume == volume


def quotes_json(quotes: list[Quote]) -> list[list[str]]:
    return [
        [q.symbol, str(q.price), str(q.day_high), str(q.day_low), q.quote_time.isoformat()]
        for q in quotes
    ]


SAME_INSTANTS = [
    datetime(2025, 3, 12, 14, 37, 23, tzinfo=UTC),
    datetime(2025, 3, 12, 23, 59, 57, tzinfo=UTC),
    datetime(2025, 3, 13, 0, 0, 1, 500_000, tzinfo=UTC),
]


def run_python(code: str) -> str:
    """Run `code` in a fresh interpreter with Django set up; return what it printed."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONHASHSEED": "4242",  # a different str hash than this process: no state shared
    }
    prelude = "import django, json\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_same_symbol_and_instant_has_the_same_quote_in_another_process() -> None:
    here = quotes_json(
        [
            SimulatedProvider().quote_at(symbol, moment)
            for moment in SAME_INSTANTS
            for symbol in SYMBOLS
        ]
    )

    there = run_python(
        "from datetime import datetime\n"
        "from apps.market.providers.simulated import SimulatedProvider\n"
        "from tests.unit.test_simulated_source import SAME_INSTANTS, SYMBOLS, quotes_json\n"
        "quotes = [SimulatedProvider().quote_at(s, m) for m in SAME_INSTANTS for s in SYMBOLS]\n"
        "print(json.dumps(quotes_json(quotes)))\n"
    )

    assert json.loads(there) == here


def one_second_sigma(symbol: str) -> float:
    return VOLATILITY[asset_type_guess(symbol)] / math.sqrt(365 * SECONDS_PER_DAY)


@pytest.mark.parametrize("day", [date(2025, 3, 12) + timedelta(days=n) for n in range(0, 70, 7)])
def test_the_price_runs_on_across_midnight(day: date) -> None:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    provider = SimulatedProvider()

    for symbol in DEMO_SYMBOLS:
        last = provider.quote_at(symbol, midnight - ONE_SECOND)
        first = provider.quote_at(symbol, midnight)
        day_bar = provider_at(midnight).history([symbol], 1).bars[symbol][-1]

        # One ordinary 1 s move (at most 6 sigma), not a 10 s jump and not a restart.
        move = abs(math.log(float(first.price) / float(last.price)))
        assert move < 6 * one_second_sigma(symbol), (symbol, last.price, first.price)
        assert first.previous_close == day_bar.close
        assert day_bar.close == provider.quote_at(symbol, midnight - 10 * ONE_SECOND).price
        # The day's last seconds, after its close at 23:59:50, count in the day's bar.
        assert day_bar.low <= last.price <= day_bar.high


@pytest.mark.parametrize("symbol", ["AAPL", "EURUSD=X"])
def test_the_day_high_and_low_are_the_extremes_of_every_price_reported_that_day(
    symbol: str,
) -> None:
    """Queried every second from midnight on, the high and low are what was seen, exactly."""
    day = date(2025, 3, 12)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    provider = SimulatedProvider()
    high = low = provider.quote_at(symbol, midnight).previous_close
    assert high is not None
    assert low is not None

    for second in range(SECONDS_PER_DAY):
        quote = provider.quote_at(symbol, midnight + second * ONE_SECOND)
        high, low = max(high, quote.price), min(low, quote.price)
        assert (quote.day_high, quote.day_low) == (high, low), quote
        assert low > 0

    day_bar = provider_at(midnight + timedelta(days=1)).history([symbol], 1).bars[symbol][-1]
    assert (day_bar.high, day_bar.low) == (high, low)


def one_second_moves(symbol: str, start: datetime, seconds: int) -> list[float]:
    prices = [float(price) for price in prices_every_second(symbol, start, seconds + 1)]
    return [math.log(after / before) for before, after in pairwise(prices)]


@pytest.mark.parametrize("symbol", ["BTC-USD", "AAPL", "SPY", "EURUSD=X"])
def test_one_second_moves_have_the_volatility_of_the_asset_type(symbol: str) -> None:
    moves = one_second_moves(symbol, WEDNESDAY_AFTERNOON, 3600)

    realised = math.sqrt(sum(move * move for move in moves) / len(moves))

    assert 0.7 < realised / one_second_sigma(symbol) < 1.3, realised


MEMORY_PROBE = """
import tracemalloc
from datetime import UTC, datetime, timedelta
from apps.market.catalog import DEMO_ASSETS
from apps.market.providers.simulated import SimulatedProvider
symbols = [asset.symbol for asset in DEMO_ASSETS]
start = datetime(2027, 5, 11, 23, 55, tzinfo=UTC)
tracemalloc.start()
for second in range(0, 600, EVERY):
    moment = start + timedelta(seconds=second)
    SimulatedProvider(clock=lambda: moment).quotes(symbols)
print(tracemalloc.get_traced_memory()[0])
"""


def test_quoting_every_second_keeps_no_more_memory_than_every_10_s() -> None:
    """Ten minutes of 20 symbols across a midnight, each in a fresh process, traced."""
    every_10_s = int(run_python(MEMORY_PROBE.replace("EVERY", "10")))
    every_second = int(run_python(MEMORY_PROBE.replace("EVERY", "1")))

    # Both keep the 20 symbols' 10 s paths of two days (2 x 20 x 8,640 float32, 1.3 MiB).
    assert every_10_s > 2 * 20 * 8_640 * 4
    assert every_second < every_10_s + 64 * 1024, (every_second, every_10_s)
