"""bench.tick_to_screen's figures: saved quotes matched to what the sockets and the page got.

A frame is matched to its save by (symbol, quote_time); latency is its receive time minus the
save's `last_updated` (stamped by `quotes_save` before it locks the rows, so the lock, the
upsert, the commit and everything after it count). Expected frames are, per save in the
window, the sockets that subscribed to its symbol.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.fanout.common import Histogram, hist_count, hist_merge, hist_percentile_ms
from bench.report import percentile
from bench.tick_to_screen_data import Save, micros

PER_TICK_KEPT = 120  # ticks listed in the results file; past this only the summary is kept


@dataclass
class Tick:
    quote_time: str
    symbols: int
    expected: int
    received: int = 0
    hist: Histogram = field(default_factory=dict)
    max_ms: float | None = None

    def row(self) -> dict[str, Any]:
        return {
            "quote_time": self.quote_time,
            "symbols": self.symbols,
            "expected": self.expected,
            "received": self.received,
            "p50_ms": _rounded(hist_percentile_ms(self.hist, 0.5)),
            "p99_ms": _rounded(hist_percentile_ms(self.hist, 0.99)),
            "max_ms": _rounded(self.max_ms),
        }


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None or value != value else round(value, digits)


def ticks_build(
    saves: Sequence[Save], watchers: Mapping[str, int], replies: Iterable[Mapping[str, Any]]
) -> list[Tick]:
    """One row per quote time (a second of the source's clock: one refresh of the feed)."""
    ticks: dict[str, Tick] = {}
    for save in saves:
        quoted = save.key.split("|", 1)[1]
        tick = ticks.setdefault(quoted, Tick(quoted, 0, 0))
        tick.symbols += 1
        tick.expected += watchers.get(save.symbol, 0)
    for reply in replies:
        for quoted, part in reply["ticks"].items():
            tick = ticks[quoted]
            tick.received += part["count"]
            tick.hist = hist_merge([tick.hist, {int(k): v for k, v in part["hist"].items()}])
            tick.max_ms = max(tick.max_ms or 0.0, part["max_us"] / 1000)
    return [ticks[quoted] for quoted in sorted(ticks)]


def sockets_figures(ticks: Sequence[Tick], replies: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged = hist_merge(tick.hist for tick in ticks)
    expected = sum(tick.expected for tick in ticks)
    received = hist_count(merged)
    p99s = [hist_percentile_ms(tick.hist, 0.99) for tick in ticks if tick.hist]
    maxima = [tick.max_ms for tick in ticks if tick.max_ms is not None]
    return {
        "expected": expected,
        "received": received,
        "delivered_share": round(received / expected, 5) if expected else None,
        "unmatched": sum(reply["unmatched"] for reply in replies),
        "before_save": sum(reply["early"] for reply in replies),
        "latency_ms": {
            "p50": _rounded(hist_percentile_ms(merged, 0.5)),
            "p90": _rounded(hist_percentile_ms(merged, 0.9)),
            "p99": _rounded(hist_percentile_ms(merged, 0.99)),
            "max": _rounded(max(maxima)) if maxima else None,
        },
        "per_tick_p99_ms": {
            "median": _rounded(percentile(p99s, 0.5)) if p99s else None,
            "worst": _rounded(max(p99s)) if p99s else None,
        },
    }


def saves_figures(saves: Sequence[Save]) -> dict[str, Any]:
    """The feed itself: ticks seen, and where a save's own time goes."""
    if not saves:
        return {"saves": 0, "ticks": 0}
    quoted = sorted({save.quote_time for save in saves})
    span = (quoted[-1] - quoted[0]).total_seconds() + 1
    row_ms = [(save.written_at - save.last_updated) / timedelta(milliseconds=1) for save in saves]
    priced_ms = [
        (save.last_updated - save.quote_time) / timedelta(milliseconds=1) for save in saves
    ]
    return {
        "saves": len(saves),
        "ticks": len(quoted),
        "source_seconds_priced_share": round(len(quoted) / span, 3),
        "stamp_to_row_written_ms": {
            "p50": round(percentile(row_ms, 0.5), 1),
            "p99": round(percentile(row_ms, 0.99), 1),
        },
        "quote_time_to_stamp_ms_p50": round(percentile(priced_ms, 0.5), 1),
    }


def layer_figures(saves: Sequence[Save], arrivals: Mapping[str, int]) -> dict[str, Any]:
    """Save to the channel layer's delivery (what a server's hub gets), once per save."""
    values = [
        (arrivals[save.key] - micros(save.last_updated)) / 1000
        for save in saves
        if save.key in arrivals
    ]
    return {"expected": len(saves), "received": len(values)} | _percentiles(values)


def _price_of(text: str) -> Decimal | None:
    digits = re.sub(r"[^0-9.\-]", "", text.replace("\u2212", "-"))
    try:
        return Decimal(digits)
    except ArithmeticError:
        return None


def browser_figures(
    saves: Sequence[Save], records: Mapping[str, list[list[Any]]], symbols: Sequence[str]
) -> dict[str, Any]:
    """DOM changes of the watched price cells matched to saves by symbol and quoted time."""
    mine = [save for save in saves if save.symbol in set(symbols)]
    by_clock = {(s.symbol, s.quote_time.strftime("%H:%M:%S")): s for s in mine}
    by_key = {save.key: save for save in mine}
    socket_ms = [
        at - micros(by_key[f"{symbol}|{quoted}"].last_updated) / 1000
        for symbol, quoted, at in records["socket"]
        if f"{symbol}|{quoted}" in by_key
    ]
    seen: set[tuple[str, str]] = set()
    dom_ms: list[float] = []
    paint_ms: list[float] = []
    agrees = 0
    for symbol, text, title, at, frame_at in records["cells"]:
        clock = (symbol, str(title).removeprefix("quoted ").strip())
        save = by_clock.get(clock)
        if save is None or clock in seen:
            continue  # a quote from before the window, or the same one written again
        seen.add(clock)
        saved_ms = micros(save.last_updated) / 1000
        dom_ms.append(at - saved_ms)
        if frame_at is not None:
            paint_ms.append(frame_at - saved_ms)
        shown = _price_of(text)
        agrees += shown is not None and abs(shown - save.price) <= Decimal("0.0051")
    return {
        "symbols": list(symbols),
        "expected": len(mine),
        "socket_frames": len(socket_ms),
        "cells_changed": len(dom_ms),
        "price_agrees": agrees,
        "socket_ms": _percentiles(socket_ms),
        "dom_ms": _percentiles(dom_ms),
        "next_frame_ms": _percentiles(paint_ms),
    }


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p99": round(percentile(values, 0.99), 1),
        "max": round(max(values), 1),
    }


def watchers_merge(replies: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    merged: defaultdict[str, int] = defaultdict(int)
    for reply in replies:
        for symbol, count in reply["watchers"].items():
            merged[symbol] += count
    return dict(merged)
