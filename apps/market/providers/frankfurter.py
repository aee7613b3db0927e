"""ECB reference rates through the keyless Frankfurter API: an FX source for failover only.

The ECB publishes one reference rate per currency per working day, around 16:00 CET. That
is a daily fix, not a market price: good enough to value a portfolio when Yahoo is down,
too slow to show FX moving during the day.

Every pair is computed from one EUR-based time series: one request per batch whatever
the bases, and no double rounding (Frankfurter v1 rounds the rates it rebases itself).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

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
from apps.market.providers.http_json import JsonSource, positive_decimal

log = logging.getLogger("personal_finance.realtime.providers.frankfurter")

DEFAULT_BASE_URL = "https://api.frankfurter.dev/v1"

# The ECB's reference currencies; BGN left the list when Bulgaria joined the euro (2026).
ECB_CURRENCIES = frozenset(
    {
        "EUR", "USD", "JPY", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK",
        "CHF", "ISK", "NOK", "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "IDR",
        "ILS", "INR", "KRW", "MXN", "MYR", "NZD", "PHP", "SGD", "THB", "ZAR",
    }
)  # fmt: skip
ECB_ZONE = ZoneInfo("Europe/Berlin")
ECB_PUBLISHED_AT = time(16, 0)
# Long enough to hold two working days across Easter or Christmas closures.
QUOTE_WINDOW = timedelta(days=10)
_PLACES = Decimal(1).scaleb(-PRICE_DECIMAL_PLACES)
_WEEKEND = frozenset({5, 6})  # Saturday, Sunday: no fix is published
_FX_SYMBOL = re.compile(r"^([A-Z]{3})([A-Z]{3})=X$")

Series = dict[date, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class FxPair:
    """`EURUSD=X`: the price of one `base` in `quote` (USD per 1 EUR)."""

    base: str
    quote: str


def fx_pair(symbol: str) -> FxPair | None:
    match = _FX_SYMBOL.match(symbol.upper())
    if match is None:
        return None
    pair = FxPair(match[1], match[2])
    covered = pair.base != pair.quote and {pair.base, pair.quote} <= ECB_CURRENCIES
    return pair if covered else None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FrankfurterProvider:
    """FX pairs of ECB currencies; `clock` is injectable so weekends can be tested."""

    name = "frankfurter"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._clock = clock
        self._http = JsonSource(
            name=self.name, base_url=base_url, purpose="FX reference rate failover",
            transport=transport, timeout=timeout, logger=log,
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def batch_cap(self, budget_seconds: float) -> int:
        """One time-series request prices the whole batch."""
        return ONE_REQUEST_CAP

    def covers(self, symbol: str) -> bool:
        return fx_pair(symbol) is not None

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        """The latest fix as price and the fix before it as previous close.

        quote_time is the fix date at 16:00 Berlin time; the market state is CLOSED on
        weekends and OPEN otherwise. ECB rates have no day range and no volume.
        """
        batch = QuoteBatch()
        pairs = self._covered(symbols, batch.failures)
        if not pairs:
            return batch
        series = self._series(pairs.values(), since=self._today() - QUOTE_WINDOW)
        state = self._market_state()
        for symbol, pair in pairs.items():
            outcome = quote_from_series(symbol, pair, series, state)
            if isinstance(outcome, Quote):
                batch.quotes[symbol] = outcome
            else:
                batch.failures[symbol] = outcome
        return batch

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        """One bar per ECB working day with open = high = low = close = the reference rate."""
        batch = HistoryBatch()
        pairs = self._covered(symbols, batch.failures)
        if not pairs:
            return batch
        series = self._series(pairs.values(), since=self._today() - timedelta(days=max(days, 1)))
        for symbol, pair in pairs.items():
            bars = bars_from_series(symbol, pair, series)
            if bars:
                batch.bars[symbol] = bars
            else:
                batch.failures[symbol] = _no_data(f"no usable rate for {symbol}")
        return batch

    def _today(self) -> date:
        return self._clock().astimezone(ECB_ZONE).date()

    def _market_state(self) -> MarketState:
        weekday = self._clock().astimezone(ECB_ZONE).weekday()
        return MarketState.CLOSED if weekday in _WEEKEND else MarketState.OPEN

    def _covered(
        self, symbols: Sequence[str], failures: dict[str, SymbolFailure]
    ) -> dict[str, FxPair]:
        return symbols_covered(
            symbols, fx_pair, source=self.name, reason="not a pair of ECB currencies",
            failures=failures,
        )  # fmt: skip

    def _series(self, pairs: Iterable[FxPair], since: date) -> Series:
        """EUR-based rates per date from `since` to the latest fix, oldest first."""
        currencies = {c for pair in pairs for c in (pair.base, pair.quote)} - {"EUR"}
        path = f"/{since.isoformat()}.."
        payload = self._http.get_json(
            path, {"base": "EUR", "symbols": ",".join(sorted(currencies))}
        )
        rates = payload.get("rates") if isinstance(payload, dict) else None
        if not isinstance(rates, dict):
            raise self._http.unavailable(f"{path} did not answer a rates object")
        return series_from_rates(rates)


def series_from_rates(rates: dict[Any, Any]) -> Series:
    """`{"2026-11-20": {"USD": 1.0773}, ...}` keyed by date, oldest first; odd keys dropped."""
    series: Series = {}
    for key, day_rates in rates.items():
        try:
            day = date.fromisoformat(key)
        except (TypeError, ValueError):
            continue
        if isinstance(day_rates, dict):
            series[day] = day_rates
    return dict(sorted(series.items()))


def quote_from_series(
    symbol: str, pair: FxPair, series: Series, state: MarketState
) -> Quote | SymbolFailure:
    fixes = [(day, rates) for day, rates in series.items() if _lists(rates, pair)]
    if not fixes:
        return _no_data(f"no {pair.base}/{pair.quote} rate in the answer")
    day, rates = fixes[-1]
    price = pair_rate(pair, rates)
    if price is None:
        return _no_data(f"the {day} {pair.base}/{pair.quote} rate is not a positive number")
    return Quote(
        symbol=symbol,
        price=price,
        previous_close=pair_rate(pair, fixes[-2][1]) if len(fixes) > 1 else None,
        day_high=None,
        day_low=None,
        volume=None,
        currency=pair.quote,
        quote_time=fix_time(day),
        source=FrankfurterProvider.name,
        market_state=state,
    )


def bars_from_series(symbol: str, pair: FxPair, series: Series) -> list[Bar]:
    bars = []
    for day, rates in series.items():
        rate = pair_rate(pair, rates)
        if rate is not None:
            bars.append(Bar(symbol, day, rate, rate, rate, rate, None, FrankfurterProvider.name))
    return bars


def pair_rate(pair: FxPair, rates: dict[str, Any]) -> Decimal | None:
    """Quote currency per one base from EUR-based rates; a cross is a ratio of two fixes."""
    base, quote = _per_euro(pair.base, rates), _per_euro(pair.quote, rates)
    if base is None or quote is None:
        return None
    if pair.base == "EUR":
        return quote  # the ECB's own figure, exactly as published
    return (quote / base).quantize(_PLACES)


def fix_time(day: date) -> datetime:
    """When the ECB publishes the fix of `day`, in UTC (16:00 in Frankfurt)."""
    return datetime.combine(day, ECB_PUBLISHED_AT, tzinfo=ECB_ZONE).astimezone(UTC)


def _lists(rates: dict[str, Any], pair: FxPair) -> bool:
    return all(c == "EUR" or c in rates for c in (pair.base, pair.quote))


def _per_euro(currency: str, rates: dict[str, Any]) -> Decimal | None:
    return Decimal(1) if currency == "EUR" else positive_decimal(rates.get(currency))


def _no_data(reason: str) -> SymbolFailure:
    return SymbolFailure(FailureKind.NO_DATA, reason, FrankfurterProvider.name)
