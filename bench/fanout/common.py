"""What every part of the fan-out bench agrees on: the load's shape, names, the latency scale."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

SOCKETS = 1000
SYMBOLS = 500
PER_SOCKET = 20
WATCHERS_PER_SYMBOL = SOCKETS * PER_SOCKET // SYMBOLS  # 40
UPDATES_PER_TICK = SOCKETS * PER_SOCKET  # 20,000 socket updates per full tick

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portfolio_fanout"
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "pffanout"
BARE_CHANNEL_PREFIX = f"{REDIS_PREFIX}:bare:"
WS_PATH = "/ws/realtime/"

# The publish time rides in every update as integer microseconds since the epoch, fixed width
# (16 digits until 2286), so a receiver reads it without decoding the frame.
TS_FIELD = "bench_ts"
TS_MARK = b'"bench_ts":'
TS_DIGITS = 16


def symbol_name(index: int) -> str:
    return f"S{index:03d}"


def all_symbols() -> list[str]:
    return [symbol_name(i) for i in range(SYMBOLS)]


# Watched only by the never-readers: the padded frames that fill their buffers go to these,
# so the readers stay connected (and measured) through that phase.
FILLER_SYMBOLS = [f"F{index:03d}" for index in range(PER_SOCKET)]


def socket_symbols(socket_index: int) -> list[str]:
    """Socket i watches 20 consecutive symbols from i*20 (mod 500): 40 watchers per symbol."""
    start = socket_index * PER_SOCKET
    return [symbol_name((start + k) % SYMBOLS) for k in range(PER_SOCKET)]


def server_env(settings_module: str = "config.settings") -> dict[str, str]:
    """The environment of the servers and publishers: a dedicated database and Redis prefix."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DJANGO_ENV": "production",
            "SECRET_KEY": "fanout-bench-not-a-secret-" + "x" * 40,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": REDIS_PREFIX,
            "WEBSOCKET_TIMEOUT": "86400",
            # A thousand anonymous sockets from one address: the load generator, not abuse.
            "REALTIME_MAX_ANONYMOUS_PER_ADDRESS": "100000",
            "PRICE_SOURCES": "simulated",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# --- latency histograms: log-spaced bins (0.5% wide), sparse, mergeable across processes ----

_BINS_PER_E = 200


def latency_bin(micros: int) -> int:
    return int(math.log(micros if micros > 1 else 1) * _BINS_PER_E)


def bin_micros(index: int) -> float:
    """The upper edge of a bin, in microseconds."""
    return math.exp((index + 1) / _BINS_PER_E)


Histogram = dict[int, int]


def hist_merge(parts: Iterable[Mapping[int, int]]) -> Histogram:
    merged: Histogram = {}
    for part in parts:
        for index, count in part.items():
            merged[int(index)] = merged.get(int(index), 0) + count
    return merged


def hist_count(hist: Mapping[int, int]) -> int:
    return sum(hist.values())


def hist_percentile_ms(hist: Mapping[int, int], fraction: float) -> float:
    """Nearest-rank percentile in milliseconds (NaN when empty)."""
    total = hist_count(hist)
    if total == 0:
        return math.nan
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return bin_micros(index) / 1000
    return math.nan
