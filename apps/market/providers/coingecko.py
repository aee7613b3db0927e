"""CoinGecko's keyless public API v3: a crypto price source for failover behind Yahoo.

The public tier has no key and a low, shifting rate limit (a few calls a minute), so a
whole quote batch is one `/simple/price` request. Numbers are parsed straight from the
JSON text into Decimal, never through float.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from apps.market.fields import PRICE_DECIMAL_PLACES
from apps.market.providers.base import (
    ONE_REQUEST_CAP,
    Bar,
    FailureKind,
    HistoryBatch,
    MarketState,
    Quote,
    QuoteBatch,
    SymbolFailure,
    symbols_covered,
)
from apps.market.providers.http_json import JsonSource, finite_decimal, positive_decimal

log = logging.getLogger("personal_finance.realtime.providers.coingecko")

DEFAULT_BASE_URL = "https://api.coingecko.com/api/v3"

# Tickers are not unique on CoinGecko (many tokens call themselves "BTC"), so only coins
# whose id we checked by hand are covered.
COIN_IDS: dict[str, str] = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "SOL": "solana",
    "XRP": "ripple",
    "ADA": "cardano",
    "DOGE": "dogecoin",
    "DOT": "polkadot",
    "LTC": "litecoin",
    "BNB": "binancecoin",
    "AVAX": "avalanche-2",
    "LINK": "chainlink",
    "TRX": "tron",
    "BCH": "bitcoin-cash",
    "XLM": "stellar",
    "ATOM": "cosmos",
    "XMR": "monero",
}
FIATS = frozenset({"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD"})
_PLACES = Decimal(1).scaleb(-PRICE_DECIMAL_PLACES)


@dataclass(frozen=True, slots=True)
class CoinPair:
    """A Yahoo crypto symbol (`BTC-EUR`) as CoinGecko names it: coin id and vs currency."""

    coin_id: str
    fiat: str

    @property
    def vs(self) -> str:
        return self.fiat.lower()


def coin_pair(symbol: str) -> CoinPair | None:
    coin, dash, fiat = symbol.upper().partition("-")
    if not dash or coin not in COIN_IDS or fiat not in FIATS:
        return None
    return CoinPair(COIN_IDS[coin], fiat)


class CoinGeckoProvider:
    """Major coins against major fiat currencies; crypto trades around the clock."""

    name = "coingecko"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = JsonSource(
            name=self.name, base_url=base_url, purpose="crypto price failover",
            transport=transport, timeout=timeout, logger=log,
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def batch_cap(self, budget_seconds: float) -> int:
        """One `/simple/price` request prices the whole batch."""
        return ONE_REQUEST_CAP

    def covers(self, symbol: str) -> bool:
        return coin_pair(symbol) is not None

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        batch = QuoteBatch()
        pairs = self._covered(symbols, batch.failures)
        if not pairs:
            return batch
        payload = self._http.payload(self._http.get("/simple/price", _price_params(pairs.values())))
        if not isinstance(payload, dict):
            raise self._http.unavailable("/simple/price did not answer a JSON object")
        for symbol, pair in pairs.items():
            outcome = quote_from_entry(symbol, pair, payload.get(pair.coin_id))
            if isinstance(outcome, Quote):
                batch.quotes[symbol] = outcome
            else:
                batch.failures[symbol] = outcome
        return batch

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        """Daily closes from `/market_chart`, one request per symbol (the API takes one coin).

        CoinGecko's daily series has closes only, so each Bar has open = high = low = close:
        a flat bar rather than an invented range. A point at 00:00 UTC is the price at the
        end of the previous UTC day, so it closes that day, as Yahoo's crypto bars do; the
        last point (now) is today's bar so far.
        """
        batch = HistoryBatch()
        for symbol, pair in self._covered(symbols, batch.failures).items():
            outcome = self._history_of(symbol, pair, max(days, 1))
            if isinstance(outcome, list):
                batch.bars[symbol] = outcome
            else:
                batch.failures[symbol] = outcome
        return batch

    def _history_of(self, symbol: str, pair: CoinPair, days: int) -> list[Bar] | SymbolFailure:
        path = f"/coins/{pair.coin_id}/market_chart"
        params = {"vs_currency": pair.vs, "days": str(days), "interval": "daily"}
        response = self._http.get(path, params)
        if response.status_code == httpx.codes.NOT_FOUND:
            return self._failure(FailureKind.UNKNOWN_SYMBOL, f"{pair.coin_id} is not listed")
        payload = self._http.payload(response)
        if not isinstance(payload, dict) or not isinstance(payload.get("prices"), list):
            raise self._http.unavailable(f"{path} did not answer a prices list")
        bars = bars_from_chart(symbol, payload["prices"], payload.get("total_volumes"))
        return bars or self._failure(FailureKind.NO_DATA, "no usable daily prices")

    def _covered(
        self, symbols: Sequence[str], failures: dict[str, SymbolFailure]
    ) -> dict[str, CoinPair]:
        return symbols_covered(
            symbols, coin_pair, source=self.name, reason="not a covered coin", failures=failures
        )

    def _failure(self, kind: FailureKind, reason: str) -> SymbolFailure:
        return SymbolFailure(kind=kind, reason=reason, source=self.name)


def _price_params(pairs: Iterable[CoinPair]) -> dict[str, str]:
    pairs = list(pairs)
    return {
        "ids": ",".join(sorted({pair.coin_id for pair in pairs})),
        "vs_currencies": ",".join(sorted({pair.vs for pair in pairs})),
        "include_24hr_vol": "true",
        "include_24hr_change": "true",
        "include_last_updated_at": "true",
    }


def quote_from_entry(symbol: str, pair: CoinPair, entry: Any) -> Quote | SymbolFailure:
    """One coin of a `/simple/price` answer: `{"usd": .., "usd_24h_vol": .., ...}`."""
    if not isinstance(entry, dict):
        return _no_data(f"{pair.coin_id} missing from the answer")
    price = positive_decimal(entry.get(pair.vs))
    if price is None:
        return _no_data(f"no usable {pair.vs} price for {pair.coin_id}")
    quote_time = utc_from_epoch(entry.get("last_updated_at"))
    if quote_time is None:
        return _no_data(f"no last_updated_at for {pair.coin_id}")
    return Quote(
        symbol=symbol,
        price=price,
        previous_close=price_24h_ago(price, entry.get(f"{pair.vs}_24h_change")),
        day_high=None,
        day_low=None,
        volume=_whole(entry.get(f"{pair.vs}_24h_vol")),
        currency=pair.fiat,
        quote_time=quote_time,
        source=CoinGeckoProvider.name,
        market_state=MarketState.OPEN,
    )


def price_24h_ago(price: Decimal, change_percent: Any) -> Decimal | None:
    """The price 24 hours ago, from CoinGecko's rolling 24 h change.

    Crypto has no exchange close; this rolling reference stands in for `previous_close`,
    so `Quote.change` is the change over the last 24 hours, not since midnight.
    """
    change = finite_decimal(change_percent)
    if change is None:
        return None
    factor = 1 + change / 100
    if factor <= 0:
        return None
    return (price / factor).quantize(_PLACES)


def bars_from_chart(symbol: str, prices: list[Any], volumes: Any) -> list[Bar]:
    """Daily bars from `[[epoch_ms, value], ...]` lists; unusable points are skipped."""
    volume_at = {point[0]: point[1] for point in _points(volumes)}
    bars: dict[date, Bar] = {}
    for stamp, value in _points(prices):
        close = positive_decimal(value)
        when = utc_from_epoch(stamp, scale=1000)
        if close is None or when is None:
            continue
        day = _closing_day(when)
        bars[day] = Bar(
            symbol=symbol,
            day=day,
            open=close,
            high=close,
            low=close,
            close=close,
            volume=_whole(volume_at.get(stamp)),
            source=CoinGeckoProvider.name,
        )
    return [bars[day] for day in sorted(bars)]


def _closing_day(when: datetime) -> date:
    midnight = when.hour == when.minute == when.second == when.microsecond == 0
    return (when - timedelta(days=1)).date() if midnight else when.date()


def _points(value: Any) -> list[tuple[Any, Any]]:
    if not isinstance(value, list):
        return []
    return [(p[0], p[1]) for p in value if isinstance(p, list) and len(p) == 2]


def _whole(value: Any) -> int | None:
    number = finite_decimal(value)
    return int(number) if number is not None and number >= 0 else None


def utc_from_epoch(value: Any, scale: int = 1) -> datetime | None:
    number = finite_decimal(value)
    if number is None or number <= 0:
        return None
    try:
        return datetime.fromtimestamp(float(number / scale), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _no_data(reason: str) -> SymbolFailure:
    return SymbolFailure(kind=FailureKind.NO_DATA, reason=reason, source=CoinGeckoProvider.name)
