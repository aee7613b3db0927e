"""CoinGecko provider against a local stand-in of its API, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.market.providers.base import FailureKind, MarketState, RateLimited, SourceUnavailable
from apps.market.providers.coingecko import CoinGeckoProvider
from tests.conftest import free_port
from tests.standins.http_standin import HttpStandin, StandinRequest, json_reply

API = "/api/v3"
UPDATED = datetime(2026, 11, 24, 9, 20, tzinfo=UTC)


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def epoch_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return epoch(datetime(year, month, day, hour, minute, tzinfo=UTC)) * 1000


# Written as text so the numbers reach the provider exactly as CoinGecko would send them.
PRICES = f"""{{
  "bitcoin": {{
    "usd": 94500.105, "usd_24h_vol": 31253947654.82, "usd_24h_change": 5,
    "eur": 87750.0975, "eur_24h_vol": 29012345678.5, "eur_24h_change": -2.5,
    "last_updated_at": {epoch(UPDATED)}
  }},
  "ethereum": {{
    "usd": 3060, "usd_24h_vol": 15000000000, "usd_24h_change": 2.0,
    "last_updated_at": {epoch(UPDATED)}
  }},
  "dogecoin": {{
    "usd": 0.38012345678901234, "usd_24h_vol": 1000, "usd_24h_change": null,
    "last_updated_at": {epoch(UPDATED)}
  }}
}}"""


@pytest.fixture
def standin() -> Iterator[HttpStandin]:
    with HttpStandin() as server:
        yield server


@pytest.fixture
def provider(standin: HttpStandin) -> Iterator[CoinGeckoProvider]:
    coingecko = CoinGeckoProvider(base_url=standin.base_url + API, timeout=0.5)
    yield coingecko
    coingecko.close()


def answer_prices(standin: HttpStandin, body: str) -> None:
    standin.routes[f"{API}/simple/price"] = lambda _request: json_reply(body)


def test_a_batch_of_coins_is_priced_exactly_in_one_request(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    answer_prices(standin, PRICES)

    batch = provider.quotes(["BTC-USD", "BTC-EUR", "ETH-USD", "DOGE-USD"])

    assert batch.failures == {}
    btc = batch.quotes["BTC-USD"]
    assert btc.price == Decimal("94500.105")
    assert btc.currency == "USD"
    assert btc.volume == 31253947654
    assert btc.quote_time == UPDATED
    assert btc.market_state == MarketState.OPEN
    assert btc.source == "coingecko"
    assert (btc.day_high, btc.day_low) == (None, None)
    assert batch.quotes["BTC-EUR"].price == Decimal("87750.0975")
    assert batch.quotes["BTC-EUR"].currency == "EUR"
    # A float would have lost the last digits of this one.
    assert batch.quotes["DOGE-USD"].price == Decimal("0.38012345678901234")
    [request] = standin.requests
    assert request.query == {
        "ids": "bitcoin,dogecoin,ethereum",
        "vs_currencies": "eur,usd",
        "include_24hr_vol": "true",
        "include_24hr_change": "true",
        "include_last_updated_at": "true",
    }
    assert "portfolio-realtime" in request.headers["User-Agent"]


def test_previous_close_is_the_price_24_hours_ago(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    answer_prices(standin, PRICES)

    batch = provider.quotes(["BTC-USD", "BTC-EUR", "ETH-USD", "DOGE-USD"])

    assert batch.quotes["BTC-USD"].previous_close == Decimal("90000.1")
    assert batch.quotes["BTC-USD"].change == Decimal("4500.005")
    assert batch.quotes["BTC-USD"].change_percent == Decimal(5)
    assert batch.quotes["BTC-EUR"].previous_close == Decimal("90000.1")
    assert batch.quotes["ETH-USD"].previous_close == Decimal(3000)
    assert batch.quotes["DOGE-USD"].previous_close is None


def test_symbols_it_does_not_cover_are_unsupported_without_a_request(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    symbols = ["AAPL", "EURUSD=X", "SHIB-USD", "BTC-SEK", "BTC", "BTC-USD-X"]

    batch = provider.quotes(symbols)

    assert batch.quotes == {}
    assert {s: f.kind for s, f in batch.failures.items()} == dict.fromkeys(
        symbols, FailureKind.UNSUPPORTED
    )
    assert standin.requests == []
    assert provider.covers("ETH-EUR")
    assert provider.covers("AVAX-CHF")
    assert not provider.covers("EURUSD=X")


def test_a_coin_missing_from_the_answer_has_no_data_and_the_rest_is_kept(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    answer_prices(standin, PRICES)

    batch = provider.quotes(["BTC-USD", "SOL-USD", "ETH-EUR"])

    assert batch.quotes["BTC-USD"].price == Decimal("94500.105")
    assert batch.failures["SOL-USD"].kind == FailureKind.NO_DATA
    assert batch.failures["ETH-EUR"].kind == FailureKind.NO_DATA  # ethereum came without eur


@pytest.mark.parametrize("price", ["0", "-1.5", "null", "NaN", '"94000"', "true"])
def test_a_price_that_is_not_a_positive_number_has_no_data(
    standin: HttpStandin, provider: CoinGeckoProvider, price: str
) -> None:
    answer_prices(standin, f'{{"bitcoin": {{"usd": {price}, "last_updated_at": 1795512000}}}}')

    batch = provider.quotes(["BTC-USD"])

    assert batch.quotes == {}
    assert batch.failures["BTC-USD"].kind == FailureKind.NO_DATA


def test_a_price_without_its_update_time_has_no_data(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    answer_prices(standin, '{"bitcoin": {"usd": 94500.1}}')

    assert provider.quotes(["BTC-USD"]).failures["BTC-USD"].kind == FailureKind.NO_DATA


def test_http_429_raises_rate_limited_with_the_retry_after_seconds(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    standin.routes[API] = lambda _request: json_reply(
        {"status": {"error_code": 429}}, status=429, headers={"Retry-After": "30"}
    )

    with pytest.raises(RateLimited) as raised:
        provider.quotes(["BTC-USD"])

    assert raised.value.retry_after == 30.0
    assert raised.value.source == "coingecko"


def test_http_429_without_retry_after_leaves_the_wait_to_the_caller(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    standin.routes[API] = lambda _request: json_reply({}, status=429)

    with pytest.raises(RateLimited) as raised:
        provider.quotes(["BTC-USD"])

    assert raised.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_makes_the_source_unavailable(
    standin: HttpStandin, provider: CoinGeckoProvider, status: int
) -> None:
    standin.routes[API] = lambda _request: json_reply({"error": "boom"}, status=status)

    with pytest.raises(SourceUnavailable) as raised:
        provider.quotes(["BTC-USD"])

    assert not isinstance(raised.value, RateLimited)
    assert str(status) in str(raised.value)


def test_a_hanging_source_is_unavailable_within_the_client_timeout(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    standin.routes[API] = standin.hang(seconds=10)
    started = time.monotonic()

    with pytest.raises(SourceUnavailable):
        provider.quotes(["BTC-USD"])

    assert time.monotonic() - started < 3


def test_a_source_that_refuses_connections_is_unavailable() -> None:
    closed_port = free_port()
    coingecko = CoinGeckoProvider(base_url=f"http://127.0.0.1:{closed_port}{API}", timeout=0.5)
    try:
        with pytest.raises(SourceUnavailable):
            coingecko.quotes(["BTC-USD"])
    finally:
        coingecko.close()


@pytest.mark.parametrize("body", ['{"bitcoin": {"usd": 9', "<html>Just a moment...</html>", "[]"])
def test_a_body_that_is_not_the_expected_json_makes_the_source_unavailable(
    standin: HttpStandin, provider: CoinGeckoProvider, body: str
) -> None:
    answer_prices(standin, body)

    with pytest.raises(SourceUnavailable):
        provider.quotes(["BTC-USD"])


def json_points(stamps: list[int], values: list[str]) -> str:
    return "[" + ", ".join(f"[{s}, {v}]" for s, v in zip(stamps, values, strict=True)) + "]"


def market_chart(_request: StandinRequest) -> tuple[int, dict[str, str], bytes]:
    stamps = [
        epoch_ms(2026, 11, 21),
        epoch_ms(2026, 11, 22),
        epoch_ms(2026, 11, 23),
        epoch_ms(2026, 11, 24),
        epoch_ms(2026, 11, 24, 9, 20),
    ]
    prices = json_points(stamps, ["98000.5", "99000.25", "0", "96500", "97500.75"])
    volumes = json_points(stamps, ["41000000000.7", "39000000000", "1", "38000000000", "12e9"])
    return json_reply(f'{{"prices": {prices}, "market_caps": [], "total_volumes": {volumes}}}')


def test_history_is_one_flat_daily_bar_per_utc_day_closed_at_midnight(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    standin.routes[f"{API}/coins/bitcoin/market_chart"] = market_chart

    batch = provider.history(["BTC-USD", "AAPL"], days=4)

    bars = batch.bars["BTC-USD"]
    assert [bar.day for bar in bars] == [
        date(2026, 11, 20),
        date(2026, 11, 21),
        # 2026-11-22 closed at a price of 0: skipped, not a bar
        date(2026, 11, 23),
        date(2026, 11, 24),  # today so far
    ]
    assert [bar.close for bar in bars] == [
        Decimal("98000.5"),
        Decimal("99000.25"),
        Decimal(96500),
        Decimal("97500.75"),
    ]
    assert all(bar.open == bar.high == bar.low == bar.close for bar in bars)
    assert bars[0].volume == 41000000000
    assert bars[0].source == "coingecko"
    assert batch.failures["AAPL"].kind == FailureKind.UNSUPPORTED
    [request] = standin.requests
    assert request.query == {"vs_currency": "usd", "days": "4", "interval": "daily"}


def test_history_of_a_coin_the_source_does_not_list_is_an_unknown_symbol(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    standin.routes[f"{API}/coins/"] = lambda _request: json_reply(
        {"error": "coin not found"}, status=404
    )

    batch = provider.history(["LTC-EUR"], days=30)

    assert batch.bars == {}
    assert batch.failures["LTC-EUR"].kind == FailureKind.UNKNOWN_SYMBOL


def test_history_without_usable_prices_has_no_data(
    standin: HttpStandin, provider: CoinGeckoProvider
) -> None:
    standin.routes[f"{API}/coins/"] = lambda _request: json_reply(
        '{"prices": [[1795478400000, 0], [1795564800000, null]], "total_volumes": []}'
    )

    batch = provider.history(["BTC-USD"], days=2)

    assert batch.failures["BTC-USD"].kind == FailureKind.NO_DATA
