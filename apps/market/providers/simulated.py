"""An offline market: deterministic, realistic random walks per symbol that never close.

Each symbol has a daily closing walk (seeded by the symbol, a step per calendar day) and,
inside each day, a Brownian bridge from the previous close to that day's close, kept as one
point every STEP_SECONDS. Between two kept points the price moves every TICK_SECONDS along a
smaller bridge seeded by the symbol and the step, computed when asked and never kept: the
price changes at every tick for no more memory than the kept points take. The same symbol at
the same instant always has the same price in every process, so workers, tests and
benchmarks agree without sharing state.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np

from apps.market.catalog import DEMO_ASSETS
from apps.market.models import AssetType
from apps.market.providers.base import (
    ONE_REQUEST_CAP,
    Bar,
    FailureKind,
    HistoryBatch,
    MarketState,
    Quote,
    QuoteBatch,
    SymbolFailure,
)
from apps.market.providers.universe import UNIVERSE

SOURCE = "simulated"
DAY_SECONDS = 86_400
STEP_SECONDS = 10  # one kept point of the intraday path per step
STEPS_PER_DAY = DAY_SECONDS // STEP_SECONDS
TICK_SECONDS = 1  # the price moves at every tick; a divisor of STEP_SECONDS
TICKS_PER_STEP = STEP_SECONDS // TICK_SECONDS  # at most 16: one hash seeds a step's ticks
TICKS_PER_DAY = DAY_SECONDS // TICK_SECONDS
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


def _point_after(symbol: str, day: date, step: int) -> float:
    """The kept point that ends `step`: the next day's first one after the day's last step."""
    if step + 1 < STEPS_PER_DAY:
        return float(_intraday_path(symbol, day)[step + 1])
    return float(_intraday_path(symbol, day + timedelta(days=1))[0])


def _tick_normals(symbol: str, day: date, step: int) -> list[float]:
    """TICKS_PER_STEP standard normals for one step: Box-Muller on one hash of its key.

    A hash, not a numpy generator: seeding a generator costs about as much as a whole quote.
    """
    key = f"{symbol}|{day.isoformat()}|{step}".encode()
    words = struct.unpack("<16I", hashlib.blake2b(key, digest_size=64, person=b"ticks").digest())
    normals: list[float] = []
    for index in range(0, TICKS_PER_STEP, 2):
        radius = math.sqrt(-2.0 * math.log((words[index] + 0.5) / 2**32))
        angle = 2.0 * math.pi * words[index + 1] / 2**32
        normals += (radius * math.cos(angle), radius * math.sin(angle))
    return normals[:TICKS_PER_STEP]


def _fold(price: float, floor: float, ceiling: float) -> float:
    """Reflect `price` off the edges of [floor, ceiling] until it lies inside."""
    width = ceiling - floor
    if width <= 0:
        return floor
    offset = (price - floor) % (2 * width)
    folded = floor + (offset if offset <= width else 2 * width - offset)
    return min(max(folded, floor), ceiling)  # never out by a rounding error either


def _ticks(
    symbol: str, day: date, step: int, bounds: tuple[float, float, float, float], count: int
) -> list[float]:
    """The first `count` prices strictly inside `step`, given as (start, end, floor, ceiling).

    A Brownian bridge in log price at the asset's volatility from `start` to `end`, reflected
    into [floor, ceiling]: the day's range so far widened to `end`. So a later quote's high and
    low, taken over the kept points alone, are still those of every tick before it, with nothing
    kept per tick. The price of that: a new day high or low is only ever set at a kept point.
    """
    start, end, floor, ceiling = bounds
    sigma = VOLATILITY[asset_type_guess(symbol)] / math.sqrt(365 * TICKS_PER_DAY)
    walk: list[float] = []
    level = 0.0
    for normal in _tick_normals(symbol, day, step):
        level += normal * sigma
        walk.append(level)
    slope = (math.log(end / start) - level) / TICKS_PER_STEP  # the walk, bent to end at `end`
    prices = [start * math.exp(tick * slope + walk[tick - 1]) for tick in range(1, count + 1)]
    return [
        price if floor <= price <= ceiling else _fold(price, floor, ceiling) for price in prices
    ]


def _session(symbol: str, day: date, tick_of_day: int) -> tuple[float, float, float, float]:
    """Open, last, high and low of `day` up to a tick (the open counts toward high and low)."""
    step, tick = divmod(tick_of_day, TICKS_PER_STEP)
    open_ = _close(symbol, day - timedelta(days=1))
    seen = _intraday_path(symbol, day)[: step + 1]
    # The path is kept in float32; the day's last point is its close, taken exactly, so a day's
    # bar closes at the next day's previous close to the last digit.
    point = _close(symbol, day) if step == STEPS_PER_DAY - 1 else float(seen[-1])
    high = max(open_, point, float(seen.max()))
    low = min(open_, point, float(seen.min()))
    if tick == 0:
        return open_, point, high, low
    end = _point_after(symbol, day, step)
    ticks = _ticks(symbol, day, step, (point, end, min(low, end), max(high, end)), tick)
    return open_, ticks[-1], max(high, *ticks), min(low, *ticks)


def _volume(symbol: str, day: date, tick_of_day: int) -> int:
    """Grows every tick; the full day's volume from the day's last kept point (its close) on."""
    daily = 1_000_000 + _seed(symbol, "volume", day.isoformat()) % 50_000_000
    elapsed = min(tick_of_day * TICK_SECONDS + STEP_SECONDS, DAY_SECONDS)
    return daily * elapsed // DAY_SECONDS


def _decimal(value: float) -> Decimal:
    # Below 10, six decimals: a 1 s move of EUR/USD is about a tenth of a pip (0.00001), which
    # four decimals would round away.
    digits = 8 if value < 1 else 6 if value < 10 else 4
    return Decimal(f"{value:.{digits}f}")


class SimulatedProvider:
    """The offline source: every quote says `source: simulated`; its market never closes."""

    name = SOURCE

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))

    def covers(self, symbol: str) -> bool:
        return True

    def batch_cap(self, budget_seconds: float) -> int:
        """No network: any batch is priced at once."""
        return ONE_REQUEST_CAP

    def close(self) -> None:
        """Nothing is held open."""

    def quote_at(self, symbol: str, moment: datetime) -> Quote:
        day = moment.astimezone(UTC).date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        tick_of_day = int((moment - midnight).total_seconds()) // TICK_SECONDS
        open_, last, high, low = _session(symbol, day, tick_of_day)
        return Quote(
            symbol=symbol,
            price=_decimal(last),
            previous_close=_decimal(open_),
            day_high=_decimal(high),
            day_low=_decimal(low),
            volume=_volume(symbol, day, tick_of_day),
            currency=currency_guess(symbol),
            quote_time=midnight + timedelta(seconds=tick_of_day * TICK_SECONDS),
            source=SOURCE,
            market_state=MarketState.OPEN,
        )

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        moment = self.clock()
        return QuoteBatch(quotes={symbol: self.quote_at(symbol, moment) for symbol in symbols})

    def lookup(self, symbols: Sequence[str]) -> QuoteBatch:
        """Quotes for the symbols this market lists (the catalog and `universe.UNIVERSE`);
        the others fail UNKNOWN_SYMBOL, as a real source's unknown tickers do."""
        listed = [symbol for symbol in symbols if symbol in CATALOG or symbol in UNIVERSE]
        batch = self.quotes(listed)
        for symbol in symbols:
            if symbol not in batch.quotes:
                batch.failures[symbol] = SymbolFailure(
                    FailureKind.UNKNOWN_SYMBOL, "not a symbol of the simulated market", SOURCE
                )
        return batch

    def history(self, symbols: Sequence[str], days: int) -> HistoryBatch:
        today = self.clock().astimezone(UTC).date()
        batch = HistoryBatch()
        for symbol in symbols:
            batch.bars[symbol] = [
                self._bar(symbol, today - timedelta(days=offset)) for offset in range(days, 0, -1)
            ]
        return batch

    def _bar(self, symbol: str, day: date) -> Bar:
        # The day closes at its last kept point (23:59:50 UTC); its last ticks, which run on to
        # the next day's first point, count toward its high and low.
        open_, _, high, low = _session(symbol, day, TICKS_PER_DAY - 1)
        close = _close(symbol, day)
        return Bar(
            symbol=symbol,
            day=day,
            open=_decimal(open_),
            high=_decimal(high),
            low=_decimal(low),
            close=_decimal(close),
            volume=_volume(symbol, day, TICKS_PER_DAY - 1),
            source=SOURCE,
        )
