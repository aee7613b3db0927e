"""YahooProvider against a local stand-in of Yahoo, over real HTTP.

yfinance builds every request and parses every answer itself; only the address changes
(see `tests.standins.yahoo`). Nothing of yfinance or of our code is mocked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from apps.market.providers.base import (
    FailureKind,
    MarketState,
    RateLimited,
    SourceUnavailable,
)
from apps.market.providers.yahoo import YahooProvider, yfinance_prepare
from tests.standins.yahoo import Scenario, YahooStandin, yahoo_standin

# yfinance 1.7 calls pandas 3 APIs that are deprecated; that is its noise, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning:yfinance.*")

# A Friday, a few seconds after the New York close.
FRIDAY_CLOSE = datetime(2026, 11, 20, 21, 0, 5, tzinfo=UTC)
TIMEOUT = 1.0


@pytest.fixture(scope="module", autouse=True)
def yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return yfinance_prepare(tmp_path_factory.mktemp("yfinance"))


@pytest.fixture
def standin() -> Iterator[YahooStandin]:
    with yahoo_standin() as server:
        yield server


@pytest.fixture
def provider(standin: YahooStandin) -> YahooProvider:
    return YahooProvider(session=standin.session(), threads=2, pace_seconds=0.01, timeout=TIMEOUT)


def test_a_batch_of_three_is_priced_from_the_chart_with_unadjusted_previous_closes(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing(
        "AAPL",
        price=189.84,
        previous_close=187.44,
        quote_time=FRIDAY_CLOSE,
        day_high=190.5,
        day_low=186.25,
        volume=51_234_567,
    )
    standin.listing("MSFT", price=415.5, previous_close=420.0, quote_time=FRIDAY_CLOSE)
    standin.listing(
        "EURUSD=X",
        price=1.0842,
        previous_close=1.081,
        price_hint=4,
        timezone="Europe/London",
        quote_time=FRIDAY_CLOSE,
    )

    batch = provider.quotes(["AAPL", "MSFT", "EURUSD=X"])

    assert batch.failures == {}
    aapl = batch.quotes["AAPL"]
    assert (aapl.price, aapl.previous_close) == (Decimal("189.84"), Decimal("187.44"))
    assert (aapl.day_high, aapl.day_low) == (Decimal("190.5"), Decimal("186.25"))
    assert aapl.volume == 51_234_567
    assert aapl.change == Decimal("2.40")
    assert aapl.change_percent == Decimal("2.40") / Decimal("187.44") * 100
    assert aapl.currency == "USD"
    assert aapl.quote_time == FRIDAY_CLOSE
    assert aapl.quote_time.utcoffset() == timedelta(0)
    assert aapl.source == "yahoo"
    assert aapl.market_state is MarketState.CLOSED
    msft = batch.quotes["MSFT"]
    assert msft.change == Decimal("-4.5")
    assert msft.change_percent == Decimal("-4.5") / Decimal("420.0") * 100
    fx = batch.quotes["EURUSD=X"]
    assert (fx.price, fx.previous_close) == (Decimal("1.0842"), Decimal("1.081"))
    assert fx.change == Decimal("0.0032")
    for quote in batch.quotes.values():
        money = [quote.price, quote.previous_close, quote.day_high, quote.day_low]
        assert all(isinstance(value, Decimal) for value in money)


def test_a_repeated_symbol_is_fetched_once_as_a_daily_chart_without_pre_and_post_bars(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing("NVDA", quote_time=FRIDAY_CLOSE)

    provider.quotes(["NVDA", "NVDA"])

    charts = [r.query for r in standin.chart_requests("NVDA") if r.query.get("range") == "5d"]
    assert charts == [
        {
            "range": "5d",
            "interval": "1d",
            "includePrePost": "False",
            "events": "div,splits,capitalGains",
            "crumb": "standin-crumb",
        }
    ]


def test_a_london_price_in_pence_is_scaled_to_pounds(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing(
        "VOD.L",
        currency="GBp",
        price=7234.5,
        previous_close=7100.25,
        day_high=7301.0,
        day_low=7090.5,
        timezone="Europe/London",
        quote_time=FRIDAY_CLOSE,
    )

    quote = provider.quotes(["VOD.L"]).quotes["VOD.L"]

    assert quote.currency == "GBP"
    assert (quote.price, quote.previous_close) == (Decimal("72.345"), Decimal("71.0025"))
    assert (quote.day_high, quote.day_low) == (Decimal("73.01"), Decimal("70.905"))
    assert quote.change == Decimal("1.3425")


def test_symbols_yahoo_does_not_list_are_unknown_and_the_others_are_kept(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing("AMZN", quote_time=FRIDAY_CLOSE)

    batch = provider.quotes(["NOPE1", "AMZN", "NOPE2", "NOPE3"])

    assert set(batch.quotes) == {"AMZN"}
    assert batch.quotes["AMZN"].price == Decimal("189.84")
    assert {symbol: failure.kind for symbol, failure in batch.failures.items()} == {
        "NOPE1": FailureKind.UNKNOWN_SYMBOL,
        "NOPE2": FailureKind.UNKNOWN_SYMBOL,
        "NOPE3": FailureKind.UNKNOWN_SYMBOL,
    }
    assert all(failure.source == "yahoo" and failure.reason for failure in batch.failures.values())


def test_a_rate_limit_raises_with_the_quotes_fetched_before_it_and_stops_the_batch(
    standin: YahooStandin,
) -> None:
    provider = YahooProvider(session=standin.session(), threads=1, pace_seconds=0, timeout=TIMEOUT)
    for symbol in ("GOOG", "META", "LATER"):
        standin.listing(symbol, quote_time=FRIDAY_CLOSE)
    standin.fail("LIMITED", Scenario.RATE_LIMITED)

    with pytest.raises(RateLimited) as raised:
        provider.quotes(["GOOG", "META", "LIMITED", "LATER"])

    partial = raised.value.partial
    assert partial is not None
    assert set(partial.quotes) == {"GOOG", "META"}
    assert partial.quotes["META"].price == Decimal("189.84")
    assert partial.failures == {}
    assert raised.value.source == "yahoo"
    assert standin.chart_requests("LATER") == []  # no request after Yahoo said slow down


def test_a_source_that_does_not_answer_raises_source_unavailable_within_seconds(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.fail("SLOW", Scenario.HANG)
    started = time.monotonic()

    with pytest.raises(SourceUnavailable) as raised:
        provider.quotes(["SLOW"])

    assert time.monotonic() - started < 4 * TIMEOUT
    assert type(raised.value) is SourceUnavailable
    assert "SLOW" in str(raised.value)


def test_a_symbol_that_does_not_answer_is_no_data_while_the_others_are_priced(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing("ORCL", quote_time=FRIDAY_CLOSE)
    standin.fail("STUCK", Scenario.HANG)

    batch = provider.quotes(["ORCL", "STUCK"])

    assert set(batch.quotes) == {"ORCL"}
    assert batch.failures["STUCK"].kind is FailureKind.NO_DATA
    assert "no answer" in batch.failures["STUCK"].reason


def test_a_malformed_body_is_no_data_for_that_symbol_never_a_price(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing("IBM", quote_time=FRIDAY_CLOSE)
    standin.fail("GARBLED", Scenario.MALFORMED)

    batch = provider.quotes(["IBM", "GARBLED"])

    assert set(batch.quotes) == {"IBM"}
    assert batch.failures["GARBLED"].kind is FailureKind.NO_DATA
    assert "could not be read" in batch.failures["GARBLED"].reason


def test_a_batch_of_malformed_bodies_only_raises_source_unavailable(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.fail("MANGLED", Scenario.MALFORMED)

    with pytest.raises(SourceUnavailable, match="could not be read"):
        provider.quotes(["MANGLED"])


def test_a_chart_whose_prices_are_all_null_is_no_data(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    standin.listing("HOLLOW", quote_time=FRIDAY_CLOSE, scenario=Scenario.NO_PRICES)

    batch = provider.quotes(["HOLLOW"])

    assert batch.quotes == {}
    assert batch.failures["HOLLOW"].kind is FailureKind.NO_DATA


def test_market_state_follows_yahoos_current_trading_period(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    hour = timedelta(hours=1)
    standin.listing("TRADING", quote_time=now - hour / 2, regular_period=(now - hour, now + hour))
    standin.listing("AFTER", quote_time=now - hour * 2, regular_period=(now - hour * 8, now - hour))
    standin.listing("SHUT", quote_time=FRIDAY_CLOSE - timedelta(days=7))

    quotes = provider.quotes(["TRADING", "AFTER", "SHUT"]).quotes

    assert quotes["TRADING"].market_state is MarketState.OPEN
    assert quotes["AFTER"].market_state is MarketState.POST
    assert quotes["SHUT"].market_state is MarketState.CLOSED


def test_history_returns_unadjusted_daily_bars_since_the_first_day_asked(
    standin: YahooStandin, provider: YahooProvider
) -> None:
    two_days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    aapl = standin.listing("HISTA", quote_time=two_days_ago, price=190.0, previous_close=188.5)
    barc = standin.listing(
        "BARC.L",
        quote_time=two_days_ago,
        currency="GBp",
        price=285.5,
        previous_close=281.25,
        timezone="Europe/London",
    )
    first_day = datetime.now(UTC).date() - timedelta(days=10)

    batch = provider.history(["HISTA", "BARC.L", "NOPEH"], days=10)

    assert batch.failures["NOPEH"].kind is FailureKind.UNKNOWN_SYMBOL
    served = [bar for bar in aapl.bars() if bar.day >= first_day]
    bars = batch.bars["HISTA"]
    assert [bar.day for bar in bars] == [bar.day for bar in served]
    assert [bar.close for bar in bars] == [Decimal(f"{bar.close:.2f}") for bar in served]
    assert bars[-1].close == Decimal("190.0")
    assert bars[-2].close == Decimal("188.5")  # adjusted for the dividend it would be 185.67
    assert all(isinstance(bar.open, Decimal) and bar.source == "yahoo" for bar in bars)
    assert all(bar.low <= bar.close <= bar.high for bar in bars)
    pence = batch.bars["BARC.L"]
    assert len(pence) == len([bar for bar in barc.bars() if bar.day >= first_day])
    assert (pence[-2].close, pence[-1].close) == (Decimal("2.8125"), Decimal("2.855"))
