"""The printed figures: per-variant table, ladder steps, and the targets with PASS/MISS."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.fanout.common import hist_percentile_ms
from bench.fanout.fleet import Connected
from bench.fanout.scenario import NeverReaders, Result


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(c) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in lines)


def ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def per_s(value: float) -> str:
    return f"{value / 1000:,.1f}k"


def variants_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        sat = r.saturation
        lat = r.lat_all
        first, last = r.lat_thirds[0], r.lat_thirds[-1]
        rows.append(
            [
                r.variant.name,
                per_s(sat.delivered) if sat else "-",
                r.limited_by,
                ms(hist_percentile_ms(lat, 0.5)),
                ms(hist_percentile_ms(lat, 0.99)),
                f"{ms(first[1])} -> {ms(last[1])}",
                f"{100 * r.steps[0].complete:.0f}%",
                f"{r.peak_rss_kib / 1024:.0f}",
                f"{r.idle_kib_per_socket:.1f}",
                f"{r.connect.ready}/{r.connect.ready + r.connect.failed}"
                f" in {r.connect.seconds:.1f}s",
            ]
        )
    headers = [
        "variant",
        "updates/s @sat",
        "limited by",
        "p50 ms",
        "p99 ms",
        "p99 1st->3rd third",
        "delivered @1/s",
        "peak RSS MiB",
        "KiB/idle socket",
        "sockets ready",
    ]
    return table(headers, rows)


def steps_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        for s in r.steps:
            rows.append(
                [
                    r.variant.name,
                    f"{s.rate:g}",
                    f"{s.achieved:.2f}",
                    f"{s.publish_ms:.0f}",
                    per_s(s.delivered),
                    f"{100 * s.complete:.0f}%",
                    ms(s.p50),
                    ms(s.p99),
                    f"{100 * s.server_cpu:.0f}%",
                    f"{100 * s.loadgen_cpu:.0f}%",
                    f"{100 * s.publisher_cpu:.0f}%",
                    f"{100 * s.redis_cpu:.0f}%",
                    f"{100 * s.others_cpu:.0f}%",
                    s.limit or "-",
                ]
            )
    headers = [
        "variant",
        "ticks/s asked",
        "published",
        "ms/publish",
        "delivered/s",
        "complete",
        "p50 ms",
        "p99 ms",
        "server CPU",
        "loadgen CPU",
        "publisher CPU",
        "Redis CPU",
        "others' CPU",
        "saturated by",
    ]
    return table(headers, rows)


@dataclass
class Target:
    name: str
    value: float
    goal: float
    higher_is_better: bool
    unit: str = "x"

    @property
    def met(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    def verdict(self) -> str:
        if self.met:
            return "PASS"
        if math.isnan(self.value):
            return "MISS (no figure)"
        if self.higher_is_better:
            short = 100 * (1 - self.value / self.goal)
            return f"MISS by {short:.0f}% ({self.value:.2f}{self.unit} < {self.goal:g}{self.unit})"
        over = 100 * (self.value / self.goal - 1)
        return f"MISS by {over:.0f}% ({self.value:.2f}{self.unit} > {self.goal:g}{self.unit})"


def targets(by_name: dict[str, Result]) -> list[Target]:
    ours, bare, textbook = by_name["ours"], by_name["bare"], by_name["textbook"]

    def sat(r: Result) -> float:
        s = r.saturation
        return s.delivered if s else math.nan

    def p99(r: Result) -> float:
        return hist_percentile_ms(r.lat_all, 0.99)

    found = [
        Target("ours / bare limit, updates/s at saturation", sat(ours) / sat(bare), 0.8, True),
        Target("ours / textbook, updates/s at saturation", sat(ours) / sat(textbook), 15, True),
        Target("ours p99 / bare p99 at 1 tick/s", p99(ours) / p99(bare), 1.25, False),
        Target("ours idle memory per socket", ours.idle_kib_per_socket, 32, False, " KiB"),
    ]
    if "ours batched" in by_name:
        batched = by_name["ours batched"]
        found.append(
            Target(
                "ours batched idle memory per socket",
                batched.idle_kib_per_socket,
                32,
                False,
                " KiB",
            )
        )
    if ours.never is not None:
        found.extend(never_targets(ours.never))
    return found


def never_targets(never: NeverReaders) -> list[Target]:
    """The never-readers' two targets: the others' p99 and the server's memory.

    Only a rise of the others' p99 is a miss: a fall (other processes went quiet between the
    halves, say) is no harm the never-readers did, so the figure is the signed change.
    """
    rise = 100 * (never.p99_with / never.p99_without - 1) if never.p99_without > 0 else math.nan
    growth = (never.rss_with_kib - never.rss_with_mid_kib) / 1024
    return [
        Target("never-readers: rise of the others' p99", rise, 20, False, "%"),
        Target("never-readers: RSS growth over the 2nd half", growth, 2, False, " MiB"),
    ]


def targets_table(found: Sequence[Target]) -> str:
    rows = [
        [
            t.name,
            f"{t.value:.2f}{t.unit}",
            f"{'>=' if t.higher_is_better else '<='} {t.goal:g}{t.unit}",
            t.verdict(),
        ]
        for t in found
    ]
    return table(["target", "measured", "goal", "verdict"], rows)


def phases_line(result: Result) -> str:
    """Seconds per phase of a variant's run, in the order they ran."""
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in result.phase_seconds.items())


def burst_line(connected: Connected, log_note: str) -> str:
    failures = "; ".join(connected.failures[:2])
    return (
        f"textbook burst (1,000 sockets x 20 group_add at once): {connected.ready} ready, "
        f"{connected.failed} failed in {connected.seconds:.1f} s; {log_note}"
        + (f"; e.g. {failures}" if failures else "")
    )


def never_lines(result: Result) -> list[str]:
    n = result.never
    if n is None:
        return []
    return [
        "never-readers (100 of 1,000 sockets, SO_RCVBUF 4 KiB, never read), at 1 tick/s, "
        "the other 900 sockets:",
        f"  p50 {ms(n.p50_without)} -> {ms(n.p50_with)} ms, p99 {ms(n.p99_without)} -> "
        f"{ms(n.p99_with)} ms (without -> with)",
        f"  server RSS {n.rss_without_kib / 1024:.1f} MiB without, {n.rss_with_kib / 1024:.1f} "
        f"MiB with (mid-phase {n.rss_with_mid_kib / 1024:.1f}, peak {n.peak_with_kib / 1024:.1f})",
        f"  kernel: {n.send_queue}",
    ]
