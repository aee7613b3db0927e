"""The run's figures for `bench/results/`: summaries per variant, the ladder, the targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bench.fanout.common import PER_SOCKET, SOCKETS, SYMBOLS, hist_percentile_ms
from bench.fanout.fleet import Connected
from bench.fanout.report import Target
from bench.fanout.scenario import Mode, Result, Step


def run_figures(
    mode: Mode,
    results: Sequence[Result],
    found: Sequence[Target],
    *,
    burst: tuple[Connected, str] | None,
    others_load: float,
    seconds: float,
) -> dict[str, Any]:
    return {
        "shape": {"sockets": SOCKETS, "per_socket": PER_SOCKET, "symbols": SYMBOLS},
        "pinned": mode.pin,
        "others_load_at_start": round(others_load, 2),
        "seconds": round(seconds, 1),
        "variants": {r.variant.name: variant_figures(r) for r in results},
        "never_readers": next((asdict(r.never) for r in results if r.never is not None), None),
        "burst": burst_figures(*burst) if burst else None,
        "targets": [target_figures(t) for t in found],
    }


def variant_figures(result: Result) -> dict[str, Any]:
    saturation = result.saturation
    return {
        "saturation_updates_per_s": round(saturation.delivered) if saturation else None,
        "limited_by": result.limited_by,
        # Latency at 1 tick/s, every socket, milliseconds.
        "latency_ms": {
            name: round(hist_percentile_ms(result.lat_all, fraction), 1)
            for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        },
        "p99_by_third_ms": [round(third[1], 1) for third in result.lat_thirds],
        "idle_kib_per_socket": round(result.idle_kib_per_socket, 1),
        "server_rss_mib": {
            "before_sockets": round(result.rss_before_kib / 1024, 1),
            "sockets_idle": round(result.rss_idle_kib / 1024, 1),
        },
        "peak_rss_mib": round(result.peak_rss_kib / 1024, 1),
        "sockets": {
            "ready": result.connect.ready,
            "failed": result.connect.failed,
            "seconds": round(result.connect.seconds, 1),
        },
        "ladder": [step_figures(step) for step in result.steps],
        "phase_seconds": {k: round(v, 1) for k, v in result.phase_seconds.items()},
        "notes": result.notes,
    }


def step_figures(step: Step) -> dict[str, Any]:
    return {
        "ticks_per_s": step.rate,
        "achieved_ticks_per_s": round(step.achieved, 2),
        "offered_updates_per_s": round(step.offered),
        "delivered_updates_per_s": round(step.delivered),
        "complete": round(step.complete, 3),
        "publish_ms": round(step.publish_ms, 1),
        "p50_ms": round(step.p50, 1),
        "p99_ms": round(step.p99, 1),
        "cpu": {
            "server": round(step.server_cpu, 2),
            "loadgen": round(step.loadgen_cpu, 2),
            "publisher": round(step.publisher_cpu, 2),
            "redis": round(step.redis_cpu, 2),
            "others": round(step.others_cpu, 2),
        },
        "saturated_by": step.limit or None,
    }


def burst_figures(connected: Connected, log_note: str) -> dict[str, Any]:
    return {
        "ready": connected.ready,
        "failed": connected.failed,
        "seconds": round(connected.seconds, 1),
        "server_log": log_note,
    }


def target_figures(target: Target) -> dict[str, Any]:
    return {
        "name": target.name,
        "value": round(target.value, 3),
        "goal": target.goal,
        "unit": target.unit.strip(),
        "higher_is_better": target.higher_is_better,
        "met": target.met,
    }
