"""Set-based revaluation against the per-portfolio ORM loop, on PostgreSQL.

    .venv/bin/python -m bench.revaluation [--portfolios 100000] [--positions 10]
        [--symbols 500] [--quick] [--database-url postgres://...]

Loads (or reuses) a dedicated database, then times `portfolios_value` for the portfolios
holding a batch of changed symbols against the textbook loop over the same portfolios, checks
that both agree to the cent, and prints one table.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.environment import DEFAULT_REDIS_URL, DEFAULT_SERVER, django_boot
from bench.report import median, peak_rss_mib, table_print
from bench.results import ROOT, results_write

if TYPE_CHECKING:
    from apps.portfolios.valuation import Valuation
    from bench.naive_valuation import Totals

TARGET_SPEEDUP = 50
TARGET_SECONDS = 2.0


@dataclass
class Options:
    portfolios: int
    positions: int
    symbols: int
    users: int
    changed: int
    repeat: int
    naive_sample: int | None
    database_url: str
    quick: bool


@dataclass
class NaiveRun:
    seconds: float  # for every target portfolio (extrapolated when only a sample ran)
    measured: int
    targets: int
    results: dict[int, Totals] = field(default_factory=dict)


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.revaluation", description=__doc__)
    parser.add_argument("--portfolios", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--positions", type=int, default=10, help="per portfolio")
    parser.add_argument("--symbols", type=int, default=500, help="held assets (plus EURUSD=X)")
    parser.add_argument("--users", type=int, help="owners; default one per 30 portfolios")
    parser.add_argument("--changed", type=int, default=500, help="symbols in the changed batch")
    parser.add_argument("--repeat", type=int, default=5, help="runs of ours (best, median)")
    parser.add_argument(
        "--naive-sample", type=int, help="run the loop on this many portfolios, extrapolate"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 portfolios, sampled loop")
    parser.add_argument("--database-url", help=f"default {DEFAULT_SERVER}/portfolio_bench")
    args = parser.parse_args(argv)
    if not 0 < args.positions <= args.symbols:
        parser.error("--positions must be between 1 and --symbols (one position per asset)")
    portfolios = args.portfolios or (10_000 if args.quick else 100_000)
    # Quick runs keep their own database, so they never make a full run reload its data.
    database = "portfolio_bench_quick" if args.quick else "portfolio_bench"
    return Options(
        portfolios=portfolios,
        positions=args.positions,
        symbols=args.symbols,
        users=args.users or max(1, portfolios // 30),
        changed=min(args.changed, args.symbols),
        repeat=max(1, args.repeat),
        naive_sample=args.naive_sample or (2_000 if args.quick else None),
        database_url=args.database_url or f"{DEFAULT_SERVER}/{database}",
        quick=args.quick,
    )


def ours_measure(symbols: Sequence[str], repeat: int) -> tuple[list[float], list[Valuation]]:
    """Time `portfolios_value` on the portfolios holding `symbols`, `repeat` times."""
    from apps.portfolios.selectors import portfolio_ids_holding
    from apps.portfolios.valuation import portfolios_value

    seconds: list[float] = []
    valuations: list[Valuation] = []
    for run in range(1, repeat + 1):
        started = time.perf_counter()
        valuations = portfolios_value(portfolio_ids_holding(symbols))
        seconds.append(time.perf_counter() - started)
        print(f"ours run {run}: {seconds[-1]:.3f} s, {len(valuations):,} portfolios valued")
    return seconds, valuations


def naive_measure(symbols: Sequence[str], sample: int | None) -> NaiveRun:
    """Time the loop over every target portfolio, or over a random sample and extrapolate."""
    from apps.portfolios.selectors import portfolio_ids_holding
    from bench.naive_valuation import portfolios_value_naive

    started = time.perf_counter()
    targets = list(portfolio_ids_holding(symbols))
    finding = time.perf_counter() - started
    chosen = targets
    if sample and sample < len(targets):
        chosen = random.Random(7).sample(targets, sample)
    started = time.perf_counter()
    results = portfolios_value_naive(chosen)
    looping = time.perf_counter() - started
    seconds = finding + looping * len(targets) / max(1, len(chosen))
    return NaiveRun(seconds, len(chosen), len(targets), results)


def agreement_check(valuations: Sequence[Valuation], naive: NaiveRun) -> None:
    """Every portfolio the loop valued has the same total, daily change and cost to the cent."""
    ours = {v.portfolio_id: (v.total_value, v.daily_change, v.cost_basis) for v in valuations}
    mismatches = [
        (portfolio_id, ours.get(portfolio_id), totals)
        for portfolio_id, totals in naive.results.items()
        if ours.get(portfolio_id) != (totals.total_value, totals.daily_change, totals.cost_basis)
    ]
    if mismatches or not naive.results:
        raise AssertionError(f"ours and the loop disagree on {len(mismatches)}: {mismatches[:5]}")
    print(
        f"agreement: {len(naive.results):,} portfolios equal to the cent "
        "(total value, daily change, cost basis)"
    )


def valuation_flags_print(valuations: Sequence[Valuation]) -> None:
    incomplete = sum(1 for v in valuations if not v.complete)
    stale = sum(1 for v in valuations if v.stale)
    currencies = sorted({v.base_currency for v in valuations})
    print(
        f"ours: {len(valuations):,} valuations in {', '.join(currencies)}; "
        f"{stale:,} flagged stale (hold a stale asset), {incomplete:,} incomplete"
    )


def results_print(
    options: Options, ours: Sequence[float], naive: NaiveRun, rss: dict[str, float]
) -> None:
    best, middle = min(ours), median(ours)
    naive_label = f"{naive.seconds:.2f}"
    if naive.measured < naive.targets:
        naive_label += f" (extrapolated from {naive.measured:,})"
    table_print(
        ["portfolios", "positions", "ours best s", "ours median s", "naive s", "speed-up",
         "peak RSS MiB"],
        [[f"{naive.targets:,}", f"{naive.targets * options.positions:,}", f"{best:.3f}",
          f"{middle:.3f}", naive_label, f"{naive.seconds / middle:.0f}x",
          f"{rss['end']:.0f}"]],
    )  # fmt: skip
    print(
        f"peak RSS MiB: after load {rss['load']:.0f}, after ours {rss['ours']:.0f}, "
        f"after the loop {rss['end']:.0f}"
    )
    met = naive.seconds / middle >= TARGET_SPEEDUP and middle < TARGET_SECONDS
    print(
        f"speed-up is naive / ours median; target >= {TARGET_SPEEDUP}x and ours < "
        f"{TARGET_SECONDS:g} s: {'met' if met else 'NOT met'}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    django_boot(
        database_url=options.database_url, redis_url=DEFAULT_REDIS_URL, redis_prefix="pfbench"
    )
    from bench.revaluation_data import Shape, data_ensure, held_symbols

    shape = Shape(options.portfolios, options.positions, options.symbols, options.users)
    data_ensure(options.database_url, shape)
    symbols = held_symbols(shape)[: options.changed]
    rss = {"load": peak_rss_mib()}
    print(f"changed batch: {len(symbols)} symbols; quick mode: {options.quick}")
    seconds, valuations = ours_measure(symbols, options.repeat)
    rss["ours"] = peak_rss_mib()
    valuation_flags_print(valuations)
    naive = naive_measure(symbols, options.naive_sample)
    rss["end"] = peak_rss_mib()
    print(
        f"naive loop: {naive.measured:,} of {naive.targets:,} portfolios measured, "
        f"{naive.seconds / max(1, naive.targets) * 1000:.2f} ms per portfolio"
    )
    agreement_check(valuations, naive)
    results_print(options, seconds, naive, rss)
    path = results_write(
        "revaluation",
        run_figures(options, seconds, naive, rss),
        mode="quick" if options.quick else "full",
    )
    print(f"figures written to {path.relative_to(ROOT)}")


def run_figures(
    options: Options, ours: Sequence[float], naive: NaiveRun, rss: dict[str, float]
) -> dict[str, object]:
    middle = median(ours)
    return {
        "portfolios": naive.targets,
        "positions": naive.targets * options.positions,
        "changed_symbols": options.changed,
        "ours_seconds": {"best": round(min(ours), 3), "median": round(middle, 3)},
        "ours_runs": len(ours),
        "naive_seconds": round(naive.seconds, 2),
        # The loop ran on this many and was extrapolated to all (quick mode samples).
        "naive_measured": naive.measured,
        "speedup": round(naive.seconds / middle, 1),
        "peak_rss_mib": {name: round(mib, 1) for name, mib in rss.items()},
        "target_met": naive.seconds / middle >= TARGET_SPEEDUP and middle < TARGET_SECONDS,
    }


if __name__ == "__main__":
    main()
