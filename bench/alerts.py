"""The pipeline's alert check over a 500-symbol batch, with 100,000 alerts in PostgreSQL.

    .venv/bin/python -m bench.alerts [--alerts 100000] [--symbols 600] [--users 5000]
        [--batch 500] [--batches 30] [--tick-move 0.05] [--quick] [--explain] [--keep]
        [--without-level-index] [--database-url postgres://...]

Creates its own database, loads users, priced assets and alerts (mixed conditions, most
armed away from the price, some fired, a few paused), then per batch moves 500 prices a
little (one UPDATE, not timed) and times `alerts_check_symbols` on them: the set query that
fires, the event rows, the bulk updates, the re-arm UPDATE and the publish of the firings.
Prints each batch, then median and p95 against the target; drops the database unless --keep.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.environment import DEFAULT_REDIS_URL, DEFAULT_SERVER, django_boot
from bench.report import median, percentile, table_print

if TYPE_CHECKING:
    from bench.alerts_data import Quote

TARGET_MS = 50.0


@dataclass
class Options:
    alerts: int
    symbols: int
    users: int
    batch: int
    batches: int
    tick_move: float
    database_url: str
    quick: bool
    explain: bool
    keep: bool
    level_index: bool


@dataclass
class Batch:
    ms: float
    cpu_ms: float  # this process's CPU: the Python side (the rest is PostgreSQL, Redis, waiting)
    fired: int
    rearmed: int


def options_parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--alerts", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--symbols", type=int, default=600, help="assets the alerts are on")
    parser.add_argument("--users", type=int, default=5_000, help="owners of the alerts")
    parser.add_argument("--batch", type=int, default=500, help="changed symbols per batch")
    parser.add_argument("--batches", type=int, help="timed batches; default 30 (10 with --quick)")
    parser.add_argument(
        "--tick-move", type=float, default=0.05, help="sd of a price move per tick, in percent"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 alerts, 10 batches")
    parser.add_argument("--explain", action="store_true", help="print the set query's plan")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--without-level-index", action="store_true",
        help="time the queries without the (asset, state, condition, threshold) index",
    )  # fmt: skip
    parser.add_argument("--database-url", help=f"default {DEFAULT_SERVER}/alerts_bench")
    args = parser.parse_args(argv)
    if not 0 < args.batch <= args.symbols:
        parser.error("--batch must be between 1 and --symbols")
    database = "alerts_bench_quick" if args.quick else "alerts_bench"
    return Options(
        alerts=args.alerts or (10_000 if args.quick else 100_000),
        symbols=args.symbols,
        users=args.users,
        batch=args.batch,
        batches=args.batches or (10 if args.quick else 30),
        tick_move=args.tick_move / 100,
        database_url=args.database_url or f"{DEFAULT_SERVER}/{database}",
        quick=args.quick,
        explain=args.explain,
        keep=args.keep,
        level_index=not args.without_level_index,
    )


def batches_run(options: Options, quotes: Sequence[Quote]) -> list[Batch]:
    """A warm-up batch (printed, not counted), then the timed ones."""
    from apps.alerts.evaluation import alerts_check_symbols
    from bench.alerts_data import tick_apply

    rng = random.Random(7)
    runs: list[Batch] = []
    for number in range(options.batches + 1):
        chosen = rng.sample(quotes, options.batch)
        tick_apply(chosen, rng, options.tick_move)
        started, cpu = time.perf_counter(), time.process_time()
        summary = alerts_check_symbols(symbols=[quote.symbol for quote in chosen])
        ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
        label = "warm-up" if number == 0 else f"batch {number}"
        print(f"{label}: {ms:.1f} ms (Python CPU {cpu_ms:.1f} ms), {len(summary.fired)} fired, "
              f"{summary.rearmed} re-armed")  # fmt: skip
        if number:
            runs.append(Batch(ms, cpu_ms, len(summary.fired), summary.rearmed))
    return runs


def plan_print(symbols: Sequence[str]) -> None:
    """EXPLAIN ANALYZE of the two set queries as the check runs them (same planner setting, in
    a transaction rolled back: nothing changes)."""
    from datetime import UTC, datetime

    from django.db import transaction

    from apps.alerts import evaluation

    with transaction.atomic():
        evaluation._planner_told_rows_are_in_memory()
        now = datetime.now(UTC)
        crossing = evaluation.alerts_crossing(symbols=symbols, now=now)
        rearming = evaluation.alerts_rearming(symbols=symbols, now=now)
        print("--- the crossing query (fires) ---")
        print(crossing.explain(analyze=True, buffers=True))
        print("--- the re-arm query (its UPDATE's WHERE) ---")
        print(rearming.explain(analyze=True, buffers=True))
        transaction.set_rollback(True)


def results_report(options: Options, runs: Sequence[Batch]) -> dict[str, float]:
    times = [run.ms for run in runs]
    figures: dict[str, float] = {
        "alerts": options.alerts, "symbols": options.symbols, "users": options.users,
        "batch": options.batch, "batches": len(runs), "tick_move_percent": options.tick_move * 100,
        "median_ms": round(median(times), 2), "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "python_cpu_median_ms": round(median([run.cpu_ms for run in runs]), 2),
        "load_average_1m": round(os.getloadavg()[0], 2), "fired": sum(run.fired for run in runs),
        "rearmed": sum(run.rearmed for run in runs), "target_ms": TARGET_MS,
        "level_index": options.level_index,
    }  # fmt: skip
    table_print(
        ["alerts", "symbols/batch", "batches", "median ms", "p95 ms", "max ms",
         "Python CPU ms", "fired", "re-armed"],
        [[f"{options.alerts:,}", str(options.batch), str(len(runs)), f"{figures['median_ms']}",
          f"{figures['p95_ms']}", f"{figures['max_ms']}", f"{figures['python_cpu_median_ms']}",
          f"{figures['fired']:,}", f"{figures['rearmed']:,}"]],
    )  # fmt: skip
    print(f"load average (1 min) at the end: {figures['load_average_1m']} on "
          f"{os.cpu_count()} cores: a busy machine inflates every figure")  # fmt: skip
    met = percentile(times, 0.95) < TARGET_MS
    print(f"target: < {TARGET_MS:g} ms per {options.batch}-symbol batch (p95): "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    return figures


def database_drop(database_url: str) -> None:
    from django.db import connections

    connections.close_all()
    name = str(conninfo_to_dict(database_url)["dbname"])
    admin = make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as pg:
        pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    print(f"database {name}: dropped")


def main(argv: Sequence[str] | None = None) -> None:
    options = options_parse(argv)
    django_boot(database_url=options.database_url, redis_url=DEFAULT_REDIS_URL,
                redis_prefix="pfbench")  # fmt: skip
    from bench.alerts_data import Shape, data_load, level_index_set, quotes_plan
    from bench.results import results_write

    try:
        shape = Shape(options.alerts, options.symbols, options.users)
        quotes = quotes_plan(shape)
        started = time.perf_counter()
        data_load(options.database_url, shape, quotes)
        took = time.perf_counter() - started
        print(f"data: {options.alerts:,} alerts on {options.symbols} symbols of "
              f"{options.users:,} users, loaded in {took:.1f} s")  # fmt: skip
        print(level_index_set(options.database_url, present=options.level_index))
        runs = batches_run(options, quotes)
        figures = results_report(options, runs)
        if options.explain:
            plan_print([quote.symbol for quote in quotes[: options.batch]])
        path = results_write("alerts", figures, mode="quick" if options.quick else "full")
        print(f"results: {path}")
    finally:
        if not options.keep:
            database_drop(options.database_url)


if __name__ == "__main__":
    main()
