"""Frankfurter (ECB reference rates) provider against a local stand-in, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from apps.market.providers.base import FailureKind, MarketState, RateLimited, SourceUnavailable
from apps.market.providers.frankfurter import FrankfurterProvider
from tests.standins.http_standin import HttpStandin, json_reply

API = "/v1"
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # before today's 16:00 fix
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EIGHT_PLACES = Decimal("1E-8")

# Written as text so the numbers reach the provider exactly as Frankfurter would send them.
SERIES = """{
  "amount": 1.0, "base": "EUR", "start_date": "2026-11-13", "end_date": "2026-11-23",
  "rates": {
    "2026-11-20": {"GBP": 0.8765, "JPY": 162.34, "USD": 1.0512},
    "2026-11-23": {"GBP": 0.8771, "JPY": 163.01, "USD": 1.0534}
  }
}"""


@pytest.fixture
def standin() -> Iterator[HttpStandin]:
    with HttpStandin() as server:
        yield server


@pytest.fixture
def make_provider(standin: HttpStandin) -> Iterator[Callable[..., FrankfurterProvider]]:
    made: list[FrankfurterProvider] = []

    def make(now: datetime = TUESDAY) -> FrankfurterProvider:
        provider = FrankfurterProvider(
            base_url=standin.base_url + API, timeout=0.5, clock=lambda: now
        )
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def provider(make_provider: Callable[..., FrankfurterProvider]) -> FrankfurterProvider:
    return make_provider()


def answer_series(standin: HttpStandin, body: str) -> None:
    standin.routes[API] = lambda _request: json_reply(body)


def test_a_batch_of_pairs_is_priced_from_one_eur_based_request(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, SERIES)

    batch = provider.quotes(["EURUSD=X", "EURGBP=X", "USDJPY=X", "GBPUSD=X", "USDEUR=X"])

    assert batch.failures == {}
    eurusd = batch.quotes["EURUSD=X"]
    assert eurusd.price == Decimal("1.0534")
    assert eurusd.currency == "USD"
    assert eurusd.source == "frankfurter"
    assert (eurusd.day_high, eurusd.day_low, eurusd.volume) == (None, None, None)
    assert batch.quotes["EURGBP=X"].price == Decimal("0.8771")
    usdjpy = batch.quotes["USDJPY=X"]
    assert usdjpy.price == (Decimal("163.01") / Decimal("1.0534")).quantize(EIGHT_PLACES)
    assert usdjpy.currency == "JPY"
    assert batch.quotes["GBPUSD=X"].price == Decimal("1.20100331")
    assert batch.quotes["USDEUR=X"].price == Decimal("0.94930701")
    [request] = standin.requests
    assert request.path == "/v1/2026-11-14.."
    assert request.query == {"base": "EUR", "symbols": "GBP,JPY,USD"}
    assert "portfolio-realtime" in request.headers["User-Agent"]


def test_previous_close_is_the_previous_ecb_fix(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, SERIES)

    batch = provider.quotes(["EURUSD=X", "USDJPY=X"])

    eurusd = batch.quotes["EURUSD=X"]
    assert eurusd.previous_close == Decimal("1.0512")
    assert eurusd.change == Decimal("0.0022")
    usdjpy = batch.quotes["USDJPY=X"]
    assert usdjpy.previous_close == (Decimal("162.34") / Decimal("1.0512")).quantize(EIGHT_PLACES)


def test_a_single_fix_in_the_window_has_no_previous_close(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, '{"base": "EUR", "rates": {"2026-11-23": {"USD": 1.0534}}}')

    quote = provider.quotes(["EURUSD=X"]).quotes["EURUSD=X"]

    assert quote.price == Decimal("1.0534")
    assert quote.previous_close is None


def test_quote_time_is_the_fix_date_at_16_00_in_frankfurt_as_utc(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, '{"rates": {"2026-07-01": {"USD": 1.1}, "2026-11-23": {"CHF": 0.93}}}')

    batch = provider.quotes(["EURCHF=X", "EURUSD=X"])

    assert batch.quotes["EURCHF=X"].quote_time == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert batch.quotes["EURUSD=X"].quote_time == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def test_the_market_is_closed_on_weekends_and_open_on_weekdays(
    standin: HttpStandin, make_provider: Callable[..., FrankfurterProvider]
) -> None:
    answer_series(standin, SERIES)

    weekday = make_provider(TUESDAY).quotes(["EURUSD=X"]).quotes["EURUSD=X"]
    weekend = make_provider(SATURDAY).quotes(["EURUSD=X"]).quotes["EURUSD=X"]

    assert weekday.market_state == MarketState.OPEN
    assert weekend.market_state == MarketState.CLOSED


def test_pairs_it_does_not_cover_are_unsupported_without_a_request(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    symbols = ["AAPL", "BTC-USD", "EURXYZ=X", "EUREUR=X", "EURBGN=X", "EURUSD", "ES=F"]

    batch = provider.quotes(symbols)

    assert batch.quotes == {}
    assert {s: f.kind for s, f in batch.failures.items()} == dict.fromkeys(
        symbols, FailureKind.UNSUPPORTED
    )
    assert standin.requests == []
    assert provider.covers("USDJPY=X")
    assert provider.covers("GBPCHF=X")
    assert not provider.covers("USDRUB=X")


def test_a_currency_missing_from_the_answer_has_no_data_and_the_rest_is_kept(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, SERIES)

    batch = provider.quotes(["EURUSD=X", "EURSEK=X", "SEKJPY=X"])

    assert batch.quotes["EURUSD=X"].price == Decimal("1.0534")
    assert batch.failures["EURSEK=X"].kind == FailureKind.NO_DATA
    assert batch.failures["SEKJPY=X"].kind == FailureKind.NO_DATA


@pytest.mark.parametrize("rate", ["0", "-1.05", "null", "NaN", '"1.05"'])
def test_a_rate_that_is_not_a_positive_number_has_no_data(
    standin: HttpStandin, provider: FrankfurterProvider, rate: str
) -> None:
    answer_series(
        standin,
        f'{{"rates": {{"2026-11-20": {{"USD": 1.05, "JPY": 162}}, '
        f'"2026-11-23": {{"USD": {rate}, "JPY": 163}}}}}}',
    )

    batch = provider.quotes(["EURUSD=X", "USDJPY=X", "EURJPY=X"])

    assert batch.failures["EURUSD=X"].kind == FailureKind.NO_DATA
    assert batch.failures["USDJPY=X"].kind == FailureKind.NO_DATA  # a cross through it too
    assert batch.quotes["EURJPY=X"].price == Decimal(163)


def test_http_429_raises_rate_limited_with_the_retry_after_delay(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    retry_at = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    standin.routes[API] = lambda _request: json_reply(
        {"message": "too many requests"}, status=429, headers={"Retry-After": retry_at}
    )

    with pytest.raises(RateLimited) as raised:
        provider.quotes(["EURUSD=X"])

    assert raised.value.retry_after is not None
    assert 100 < raised.value.retry_after <= 120
    assert raised.value.source == "frankfurter"


@pytest.mark.parametrize("status", [500, 503, 422])
def test_an_error_status_makes_the_source_unavailable(
    standin: HttpStandin, provider: FrankfurterProvider, status: int
) -> None:
    standin.routes[API] = lambda _request: json_reply({"message": "boom"}, status=status)

    with pytest.raises(SourceUnavailable) as raised:
        provider.quotes(["EURUSD=X"])

    assert not isinstance(raised.value, RateLimited)
    assert str(status) in str(raised.value)


def test_a_hanging_source_is_unavailable_within_the_client_timeout(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    standin.routes[API] = standin.hang(seconds=10)
    started = time.monotonic()

    with pytest.raises(SourceUnavailable):
        provider.quotes(["EURUSD=X"])

    assert time.monotonic() - started < 3


@pytest.mark.parametrize("body", ['{"rates": {"2026-11-23": {"USD": 1.0', "<html></html>", "{}"])
def test_a_body_that_is_not_the_expected_json_makes_the_source_unavailable(
    standin: HttpStandin, provider: FrankfurterProvider, body: str
) -> None:
    answer_series(standin, body)

    with pytest.raises(SourceUnavailable):
        provider.quotes(["EURUSD=X"])


def test_history_is_one_flat_bar_per_ecb_working_day(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, SERIES)

    batch = provider.history(["EURUSD=X", "USDJPY=X", "BTC-USD"], days=5)

    eurusd = batch.bars["EURUSD=X"]
    assert [bar.day for bar in eurusd] == [date(2026, 11, 20), date(2026, 11, 23)]
    assert [bar.close for bar in eurusd] == [Decimal("1.0512"), Decimal("1.0534")]
    assert all(bar.open == bar.high == bar.low == bar.close for bar in eurusd)
    assert all(bar.volume is None and bar.source == "frankfurter" for bar in eurusd)
    assert batch.bars["USDJPY=X"][-1].close == Decimal("154.74653503")
    assert batch.failures["BTC-USD"].kind == FailureKind.UNSUPPORTED
    [request] = standin.requests
    assert request.path == "/v1/2026-11-19.."
    assert request.query == {"base": "EUR", "symbols": "JPY,USD"}


def test_history_of_a_currency_without_rates_has_no_data(
    standin: HttpStandin, provider: FrankfurterProvider
) -> None:
    answer_series(standin, SERIES)

    batch = provider.history(["EURNOK=X"], days=5)

    assert batch.bars == {}
    assert batch.failures["EURNOK=X"].kind == FailureKind.NO_DATA
