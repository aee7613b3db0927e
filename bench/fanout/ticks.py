"""A full tick: one asset_update per symbol, the guide's fields plus the publish time."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from apps.streams.frames import frame_encode, wire_time
from apps.streams.groups import asset_group
from bench.fanout.common import TS_FIELD, all_symbols


class TickMaker:
    """Prices that wander a little each tick, encoded once as the pipeline does."""

    def __init__(self, seed: int = 11, symbols: list[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.symbols = all_symbols() if symbols is None else symbols
        self.groups = [asset_group(symbol) for symbol in self.symbols]
        self.prices = [self.rng.uniform(10, 900) for _ in self.symbols]

    def _data(self, index: int, stamp: int, quote_time: str, pad: int = 0) -> dict[str, Any]:
        previous = self.prices[index]
        price = round(max(0.01, previous * (1 + self.rng.uniform(-0.002, 0.002))), 4)
        self.prices[index] = price
        change = round(price - previous, 4)
        return {
            "symbol": self.symbols[index],
            "price": price,
            "change": change,
            "change_percent": round(change / previous * 100, 4),
            "volume": 1_000_000 + index,
            "high": round(price * 1.01, 4),
            "low": round(price * 0.99, 4),
            "currency": "USD",
            "previous_close": previous,
            "source": "simulated",
            "quote_time": quote_time,
            "market_state": "REGULAR",
            "stale": False,
            "stale_reason": None,
            TS_FIELD: stamp,
        } | ({"bench_pad": "x" * pad} if pad else {})

    def encoded(self, pad: int = 0) -> list[tuple[str, str]]:
        """(group, encoded frame) for every symbol, stamped now: what the pipeline publishes.

        `pad` bytes of filler make big frames, to fill slow sockets' buffers quickly.
        """
        stamp = time.time_ns() // 1000
        now = datetime.now(UTC)
        quote_time = wire_time(now)
        return [
            (group, frame_encode("asset_update", self._data(i, stamp, quote_time, pad), at=now))
            for i, group in enumerate(self.groups)
        ]

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        """(group, message dict) for every symbol: what a textbook consumer gets from group_send."""
        stamp = time.time_ns() // 1000
        quote_time = wire_time()
        return [
            (
                group,
                {
                    "type": "asset_update",
                    "data": self._data(i, stamp, quote_time),
                    "timestamp": quote_time,
                },
            )
            for i, group in enumerate(self.groups)
        ]
