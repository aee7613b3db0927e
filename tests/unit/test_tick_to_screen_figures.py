"""bench.tick_to_screen's matching on made-up saves and arrivals: a frame counts against its own
save, a missing frame shows, and the page's cells are matched by their quoted time.

Proposed as tests/unit/test_tick_to_screen_figures.py (not in the tree: outside my files)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.fanout.common import latency_bin
from bench.tick_to_screen_data import Save, micros
from bench.tick_to_screen_figures import browser_figures, sockets_figures, ticks_build

QUOTED = datetime(2026, 12, 1, 17, 21, 10, tzinfo=UTC)


def save(symbol: str, second: int, price: str = "101.2345") -> Save:
    quoted = QUOTED + timedelta(seconds=second)
    stamp = quoted + timedelta(milliseconds=400)
    return Save(symbol, quoted, stamp, Decimal(price), stamp + timedelta(milliseconds=30))


def reply(saves: list[Save], delay_ms: float, drop: int = 0) -> dict:
    """What one client process answers: every frame `delay_ms` after its save, less `drop`."""
    ticks: dict[str, dict] = {}
    for item in saves[drop:]:
        quoted = item.key.split("|", 1)[1]
        tick = ticks.setdefault(quoted, {"hist": {}, "count": 0, "max_us": 0})
        index = latency_bin(int(delay_ms * 1000))
        tick["hist"][index] = tick["hist"].get(index, 0) + 1
        tick["count"] += 1
        tick["max_us"] = max(tick["max_us"], int(delay_ms * 1000))
    return {"ticks": ticks, "unmatched": 0, "early": 0}


def test_frames_are_counted_against_the_watchers_of_each_save() -> None:
    saves = [save("T000", 0), save("T001", 0), save("T000", 1)]
    replies = [reply(saves, 120.0), reply(saves, 120.0, drop=1)]
    ticks = ticks_build(saves, {"T000": 2, "T001": 2}, replies)
    figures = sockets_figures(ticks, replies)
    assert [(t.symbols, t.expected, t.received) for t in ticks] == [(2, 4, 3), (1, 2, 2)]
    assert figures["expected"] == 6
    assert figures["received"] == 5  # the dropped frame shows as missing, not as slow
    assert 119 < figures["latency_ms"]["p50"] < 121


def test_the_page_is_matched_by_symbol_and_quoted_time() -> None:
    saves = [save("T000", 0), save("T000", 1, price="101.5"), save("T001", 0)]
    shown_at = micros(saves[1].last_updated) / 1000 + 250
    records = {
        "socket": [["T000", "2026-12-01T17:21:11.000Z", shown_at - 10]],
        "cells": [
            ["T000", "$101.50", "quoted 17:21:11", shown_at, shown_at + 5],
            ["T000", "$101.50", "quoted 17:21:11", shown_at + 900, None],  # the same, again
            ["T000", "$99.00", "quoted 17:20:00", shown_at, None],  # from before the window
        ],
    }
    figures = browser_figures(saves, records, ["T000"])
    assert figures["expected"] == 2
    assert figures["cells_changed"] == 1
    assert figures["price_agrees"] == 1
    assert figures["dom_ms"]["p50"] == 250.0
    assert figures["next_frame_ms"]["p50"] == 255.0
    assert figures["socket_ms"]["p50"] == 240.0
