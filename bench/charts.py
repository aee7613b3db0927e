"""The charts of bench/README.md, drawn from the JSON files in bench/results/.

    .venv/bin/python -m bench.charts [--results DIR] [--out DIR]     (or: make bench-report)

Fan-out: the latest complete run (full mode before quick): the ladder per variant, latency
percentiles at 1 tick/s, memory per idle socket. Pipeline and revaluation: their figures
over time, once there are two runs of a mode. Needs matplotlib (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display here, none needed

import matplotlib.pyplot as plt
from matplotlib import dates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from bench.results import RESULTS_DIR, ROOT, results_load

CHARTS_DIR = ROOT / "bench" / "charts"
Document = dict[str, Any]
# One colour per variant in every chart, so the eye carries it from one chart to the next.
COLOURS = {
    "ours": "#1f77b4",
    "ours batched": "#2ca02c",
    "textbook": "#d62728",
    "bare": "#7f7f7f",
}
PERCENTILE_SHADES = {"p50": 1.0, "p90": 0.65, "p99": 0.35}


def fanout_latest(documents: Sequence[Document]) -> Document | None:
    """The newest fan-out run that ran every variant, full mode preferred."""
    for mode in ("full", "quick"):
        runs = [d for d in documents if d["bench"] == "fanout" and d["mode"] == mode]
        if runs:
            return runs[-1]
    return None


def run_caption(document: Document) -> str:
    machine, figures = document["machine"], document["figures"]
    commit = (document.get("commit") or "unknown commit")[:12]
    dirty = " (uncommitted changes)" if str(document.get("commit", "")).endswith("+dirty") else ""
    caption = (
        f"{document['date'][:16].replace('T', ' ')} UTC, {document['mode']} mode, {commit}"
        f"{dirty}; {machine['cores']} cores, {machine['cpu']}, Python {machine['python']}"
    )
    if "pinned" in figures:  # the fan-out run says how much its figures are to be trusted
        caption += (
            f"\n{'server pinned to its own core' if figures['pinned'] else 'unpinned'}; other "
            f"processes kept {figures['others_load_at_start']:.2f} cores busy at the start"
        )
    return caption


def thousands(value: float, _position: object = None) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.3g}"


def figure_new(title: str, document: Document | None) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=(9, 5.4), dpi=110, layout="constrained")
    figure.suptitle(title, fontsize=13, fontweight="bold")
    if document is not None:
        axes.set_title(run_caption(document), fontsize=8.5, color="#444444")
    axes.grid(True, color="#dddddd", linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def save(figure: Figure, out: Path, name: str) -> Path:
    path = out / name
    figure.savefig(path)
    plt.close(figure)
    return path


def variant_colour(name: str) -> str:
    return COLOURS.get(name, "#9467bd")


def ladder_chart(document: Document, out: Path) -> Path:
    """Updates/s delivered against offered, per variant; the bare server's best as the limit."""
    variants = document["figures"]["variants"]
    figure, axes = figure_new("Fan-out ladder: updates/s delivered vs offered", document)
    values: list[float] = []
    for index, (name, variant) in enumerate(variants.items()):
        ladder = variant["ladder"]
        offered = [step["offered_updates_per_s"] for step in ladder]
        delivered = [step["delivered_updates_per_s"] for step in ladder]
        values += offered + delivered
        axes.plot(offered, delivered, marker="o", label=name, color=variant_colour(name))
        for step, x, y in zip(ladder, offered, delivered, strict=True):
            label = f"{step['ticks_per_s']:g}/s"
            # Alternate below and above the line: two variants' first steps often coincide.
            below = (5, -11) if index % 2 == 0 else (5, 4)
            axes.annotate(label, (x, y), xytext=below, textcoords="offset points",
                          fontsize=7, color=variant_colour(name))  # fmt: skip
    low, high = min(values) / 1.5, max(values) * 1.5
    axes.plot([low, high], [low, high], linestyle=":", color="#999999", label="all delivered")
    bare = variants.get("bare", {}).get("saturation_updates_per_s")
    if bare:
        axes.axhline(
            bare,
            linestyle="--",
            color=variant_colour("bare"),
            linewidth=1,
            label=f"bare limit {thousands(bare)}/s",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_xlabel("offered updates/s (ticks/s x 1,000 sockets x 20 symbols)")
    axes.set_ylabel("delivered updates/s")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(FuncFormatter(thousands))
        axis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))
    axes.legend(loc="upper left", fontsize=9)
    return save(figure, out, "fanout-ladder.png")


def latency_chart(document: Document, out: Path) -> Path:
    """p50, p90 and p99 publish-to-receipt latency at 1 tick/s, per variant."""
    variants = document["figures"]["variants"]
    figure, axes = figure_new("Fan-out latency at 1 tick/s (publish to receipt)", document)
    names = list(variants)
    width = 0.26
    for offset, (percentile, shade) in enumerate(PERCENTILE_SHADES.items()):
        values = [variants[name]["latency_ms"][percentile] or 0 for name in names]
        positions = [n + (offset - 1) * width for n in range(len(names))]
        bars = axes.bar(
            positions,
            values,
            width,
            color=[variant_colour(name) for name in names],
            alpha=shade,
            edgecolor="#333333",
            linewidth=0.5,
        )
        axes.bar_label(bars, labels=[percentile] * len(names), fontsize=7, padding=1)
        axes.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7, label_type="center")
    axes.set_xticks(range(len(names)), names)
    axes.set_ylabel("milliseconds (log scale)")
    axes.set_yscale("log")
    shown = [v["latency_ms"][p] for v in variants.values() for p in PERCENTILE_SHADES]
    low, high = min(v for v in shown if v) / 2, max(v for v in shown if v) * 1.3
    axes.set_ylim(low, high)
    steps = [n * 10**e for e in range(6) for n in (1, 2, 5)]
    axes.yaxis.set_major_locator(FixedLocator([v for v in steps if low <= v <= high]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    axes.yaxis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))
    return save(figure, out, "fanout-latency.png")


def memory_chart(document: Document, out: Path) -> Path:
    """Server memory per idle subscribed socket, per variant, against the 32 KiB goal."""
    variants = document["figures"]["variants"]
    figure, axes = figure_new(
        "Fan-out memory per idle socket (server RSS growth / sockets connected)", document
    )
    names = list(variants)
    values = [variants[name]["idle_kib_per_socket"] for name in names]
    bars = axes.bar(names, values, color=[variant_colour(name) for name in names], width=0.55)
    labels = [f"{value:.1f} KiB" for value in values]
    for n, name in enumerate(names):
        sockets = variants[name]["sockets"]
        if sockets["failed"]:  # per socket that connected; say how many did
            labels[n] += f"\n({sockets['ready']:,} of {sockets['ready'] + sockets['failed']:,})"
    axes.bar_label(bars, labels=labels, fontsize=9, padding=2)
    axes.axhline(32, linestyle="--", color="#d62728", linewidth=1, label="goal: 32 KiB")
    axes.legend(loc="upper right", fontsize=9)
    axes.set_ylabel("KiB per socket (20 subscriptions each)")
    axes.set_ylim(0, max([*values, 32]) * 1.2)
    return save(figure, out, "fanout-memory.png")


def history_chart(
    documents: Sequence[Document], out: Path, *, name: str, title: str, series: dict[str, Any]
) -> Path | None:
    """One line per mode over time for each figure in `series` (label -> getter)."""
    by_mode: dict[str, list[Document]] = {}
    for document in documents:
        by_mode.setdefault(document["mode"], []).append(document)
    drawable = {mode: runs for mode, runs in by_mode.items() if len(runs) >= 2}
    if not drawable:
        return None
    figure, axes = figure_new(title, None)
    machines = {f"{d['machine']['cores']} cores, {d['machine']['cpu']}" for d in documents}
    axes.set_title(
        "each point is one run, labelled with its commit; "
        + ("machine: " if len(machines) == 1 else "machines differ: ")
        + "; ".join(sorted(machines)),
        fontsize=8.5,
        color="#444444",
    )
    for mode, runs in drawable.items():
        when = dates.date2num([datetime.fromisoformat(run["date"]) for run in runs])
        for label, getter in series.items():
            values = [getter(run["figures"]) for run in runs]
            axes.plot(when, values, marker="o", label=f"{label} ({mode} mode)")
            for run, x, y in zip(runs, when, values, strict=True):
                commit = (run.get("commit") or "?")[:7] + (
                    "*" if "+dirty" in str(run.get("commit")) else ""
                )
                axes.annotate(commit, (x, y), xytext=(4, 6), textcoords="offset points",
                              fontsize=7, color="#555555")  # fmt: skip
    axes.set_ylim(bottom=0)
    axes.xaxis_date()
    locator = dates.AutoDateLocator(maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    axes.margins(x=0.08)
    axes.set_xlabel("run date (UTC); * after a commit: run with uncommitted changes")
    axes.legend(fontsize=9, loc="lower right")
    return save(figure, out, name)


def pipeline_chart(documents: Sequence[Document], out: Path) -> Path | None:
    runs = [d for d in documents if d["bench"] == "pipeline"]
    return history_chart(
        runs,
        out,
        name="pipeline-history.png",
        title="Pipeline: symbols fetched, saved and published per second",
        series={"symbols/s": lambda figures: figures["symbols_per_s"]},
    )


def revaluation_chart(documents: Sequence[Document], out: Path) -> Path | None:
    runs = [d for d in documents if d["bench"] == "revaluation"]
    return history_chart(
        runs,
        out,
        name="revaluation-history.png",
        title="Revaluation: set-based speed-up over the per-portfolio loop",
        series={"speed-up (x)": lambda figures: figures["speedup"]},
    )


def charts_draw(results: Path, out: Path) -> list[Path]:
    documents = results_load(directory=results)
    out.mkdir(parents=True, exist_ok=True)
    drawn: list[Path | None] = []
    fanout = fanout_latest(documents)
    if fanout is not None:
        drawn += [ladder_chart(fanout, out), latency_chart(fanout, out), memory_chart(fanout, out)]
    drawn += [pipeline_chart(documents, out), revaluation_chart(documents, out)]
    return [path for path in drawn if path is not None]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.charts", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--out", type=Path, default=CHARTS_DIR)
    args = parser.parse_args(argv)
    drawn = charts_draw(args.results, args.out)
    if not drawn:
        raise SystemExit(f"no results to draw in {args.results}: run a bench first")
    for path in drawn:
        print(f"drew {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
