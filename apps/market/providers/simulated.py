"""An offline market: deterministic, realistic random walks per symbol that never close.

Each symbol has a daily closing walk (seeded by the symbol, a step per calendar day) and,
inside each day, a Brownian bridge from the previous close to that day's close, sampled
every STEP_SECONDS. The same symbol at the same instant always has the same price in every
process, so workers, tests and benchmarks agree without sharing state.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np

from apps.market.catalog import DEMO_ASSETS
from apps.market.models import AssetType
from apps.market.providers.base import Bar, HistoryBatch, MarketState, Quote, QuoteBatch

SOURCE = "simulated"
STEP_SECONDS = 10
STEPS_PER_DAY = 86_400 // STEP_SECONDS
EPOCH = date(2024, 1, 1)
MEAN_REVERSION = 0.995
# Annualised volatility by kind of asset; the market never closes, so a year is 365 days.
VOLATILITY: dict[AssetType, float] = {
    AssetType.STOCK: 0.30,
    AssetType.ETF: 0.16,
    AssetType.FUND: 0.14,
    AssetType.INDEX: 0.15,
    AssetType.FX: 0.07,
    AssetType.CRYPTO: 0.65,
    AssetType.OTHER: 0.30,
}
SUFFIX_CURRENCY = {
    ".DE": "EUR", ".PA": "EUR", ".AS": "EUR", ".MI": "EUR", ".MC": "EUR", ".BR": "EUR",
    ".L": "GBP", ".SW": "CHF", ".T": "JPY", ".HK": "HKD", ".TO": "CAD", ".AX": "AUD",
}  # fmt: skip
CATALOG = {item.symbol: item for item in DEMO_ASSETS}


def _seed(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def asset_type_guess(symbol: str) -> AssetType:
    if symbol in CATALOG:
        return CATALOG[symbol].asset_type
    if symbol.startswith("^"):
        return AssetType.INDEX
    if symbol.endswith("=X"):
        return AssetType.FX
    if "-" in symbol and symbol.rsplit("-", 1)[1] in {"USD", "EUR", "GBP", "USDT"}:
        return AssetType.CRYPTO
    return AssetType.STOCK


def currency_guess(symbol: str) -> str:
    if symbol in CATALOG:
        return CATALOG[symbol].currency
    if symbol.endswith("=X"):
        pair = symbol[:-2]
        return pair[3:6] if len(pair) == 6 else pair[:3]
    if "-" in symbol and asset_type_guess(symbol) is AssetType.CRYPTO:
        return symbol.rsplit("-", 1)[1]
    for suffix, currency in SUFFIX_CURRENCY.items():
        if symbol.endswith(suffix):
            return currency
    return "USD"


def reference_price(symbol: str) -> float:
    """Where the walk starts: the catalog's level, else a stable level from the symbol."""
    if symbol in CATALOG:
        return float(CATALOG[symbol].reference_price)
    if asset_type_guess(symbol) is AssetType.FX:
        return 0.5 + (_seed(symbol, "ref") % 1500) / 1000
    return 5 + (_seed(symbol, "ref") % 49_500) / 100


@lru_cache(maxsize=4096)
def _daily_log_closes(symbol: str, days: int) -> np.ndarray:
    """Log closes from EPOCH for `days` days (cached; grows as the calendar does).

    A mean-reverting walk (AR(1) in log price, phi 0.995): day to day it moves like a random
    walk with the asset's volatility, yet over years it stays within about ten daily sigmas
    of the reference level, so the demo keeps recognisable prices.
    """
    sigma = VOLATILITY[asset_type_guess(symbol)] / math.sqrt(365)
    shocks = np.random.default_rng(_seed(symbol, "daily")).standard_normal(days) * sigma
    deviation = np.empty(days)
    level = 0.0
    for index, shock in enumerate(shocks):
        level = MEAN_REVERSION * level + shock
        deviation[index] = level
    return math.log(reference_price(symbol)) + deviation


def _close(symbol: str, day: date) -> float:
    index = (day - EPOCH).days
    # Cache by blocks of 64 days, so a new day does not recompute every symbol's history.
    closes = _daily_log_closes(symbol, (index // 64 + 1) * 64)
    return math.exp(closes[index]) if index >= 0 else reference_price(symbol)


@lru_cache(maxsize=1024)  # float32 paths of 8,640 steps: at most about 35 MB
def _intraday_path(symbol: str, day: date) -> np.ndarray:
    """Prices every STEP_SECONDS through `day`, from the previous close to the day's close."""
    open_, close = _close(symbol, day - timedelta(days=1)), _close(symbol, day)
    sigma_step = VOLATILITY[asset_type_guess(symbol)] / math.sqrt(365 * STEPS_PER_DAY)
    rng = np.random.default_rng(_seed(symbol, day.isoformat()))
    walk = np.cumsum(rng.standard_normal(STEPS_PER_DAY) * sigma_step)
    fraction = np.arange(1, STEPS_PER_DAY + 1) / STEPS_PER_DAY
    bridge = walk - fraction * walk[-1]  # ends at zero: the day closes exactly at `close`
    path = np.exp(math.log(open_) + fraction * math.log(close / open_) + bridge)
    return path.astype(np.float32)


def _session(symbol: str, day: date, step: int) -> tuple[float, float, float, float]:
    """Open, last, high and low of `day` up to `step` (the open counts toward high and low)."""
    open_ = _close(symbol, day - timedelta(days=1))
    seen = _intraday_path(symbol, day)[: step + 1]
    # The path is kept in float32; the day's last step is its close, taken exactly, so a day's
    # bar closes at the next day's previous close to the last digit.
    last = _close(symbol, day) if step >= STEPS_PER_DAY - 1 else float(seen[-1])
    return open_, last, max(open_, last, float(seen.max())), min(open_, last, float(seen.min()))


def _volume(symbol: str, day: date, step: int) -> int:
    daily = 1_000_000 + _seed(symbol, "volume", day.isoformat()) % 50_000_000
    return int(daily * (step + 1) / STEPS_PER_DAY)


def _decimal(value: float) -> Decimal:
    digits = 4 if value >= 1 else 8
    return Decimal(f"{value:.{digits}f}")


class SimulatedProvider:
    """The offline source: every quote says `source: simulated`; its market never closes."""

    name = SOURCE

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))

    def covers(self, symbol: str) -> bool:
        return True

    def quote_at(self, symbol: str, moment: datetime) -> Quote:
        day = moment.astimezone(UTC).date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        step = int((moment - midnight).total_seconds()) // STEP_SECONDS
        open_, last, high, low = _session(symbol, day, step)
        return Quote(
            symbol=symbol,
            price=_decimal(last),
            previous_close=_decimal(open_),
            day_high=_decimal(high),
            day_low=_decimal(low),
            volume=_volume(symbol, day, step),
            currency=currency_guess(symbol),
            quote_time=midnight + timedelta(seconds=step * STEP_SECONDS),
            source=SOURCE,
            market_state=MarketState.OPEN,
        )

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        moment = self.clock()
        return QuoteBatch(quotes={symbol: self.quote_at(symbol, moment) for symbol in symbols})

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        today = self.clock().astimezone(UTC).date()
        batch = HistoryBatch()
        for symbol in symbols:
            batch.bars[symbol] = [
                self._bar(symbol, today - timedelta(days=offset)) for offset in range(days, 0, -1)
            ]
        return batch

    def _bar(self, symbol: str, day: date) -> Bar:
        open_, close, high, low = _session(symbol, day, STEPS_PER_DAY - 1)
        return Bar(
            symbol=symbol,
            day=day,
            open=_decimal(open_),
            high=_decimal(high),
            low=_decimal(low),
            close=_decimal(close),
            volume=_volume(symbol, day, STEPS_PER_DAY - 1),
            source=SOURCE,
        )
