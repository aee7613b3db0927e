"""The benchmarks' own rules on made-up numbers: what counts as a miss, and what a results file
holds. A bench that calls a fall of latency a miss sends people hunting a regression that is
not there."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from bench.fanout.report import Target, never_targets
from bench.fanout.scenario import NeverReaders
from bench.results import MAX_BYTES, results_load, results_write


def never(*, p99_without: float, p99_with: float, growth_kib: int = 0) -> NeverReaders:
    return NeverReaders(
        p99_without=p99_without,
        p99_with=p99_with,
        p50_without=100.0,
        p50_with=100.0,
        rss_without_kib=100_000,
        rss_with_kib=120_000 + growth_kib,
        rss_with_mid_kib=120_000,
        peak_with_kib=120_000 + growth_kib,
        send_queue="",
    )


def p99_target(found: list[Target]) -> Target:
    return next(t for t in found if "p99" in t.name)


def test_a_fall_of_the_others_p99_is_not_a_miss() -> None:
    # The run that was marked "MISS by 29%": p99 fell from 501 to 357 ms.
    target = p99_target(never_targets(never(p99_without=501, p99_with=357)))
    assert target.met
    assert target.verdict() == "PASS"
    assert target.value == pytest.approx(-28.74, abs=0.01)


def test_a_small_rise_passes_and_a_large_rise_misses() -> None:
    small = p99_target(never_targets(never(p99_without=300, p99_with=330)))
    large = p99_target(never_targets(never(p99_without=300, p99_with=400)))
    assert small.met
    assert not large.met
    assert large.verdict() == "MISS by 67% (33.33% > 20%)"


def test_exactly_the_limit_passes() -> None:
    assert p99_target(never_targets(never(p99_without=200, p99_with=240))).met


def test_no_latency_figure_is_a_miss_that_says_so() -> None:
    target = p99_target(never_targets(never(p99_without=math.nan, p99_with=300)))
    assert target.verdict() == "MISS (no figure)"


def test_memory_growth_in_the_second_half_is_judged_in_mib() -> None:
    held = never_targets(never(p99_without=1, p99_with=1, growth_kib=1024))
    grew = never_targets(never(p99_without=1, p99_with=1, growth_kib=4096))
    assert [t.met for t in held] == [True, True]
    assert grew[1].verdict() == "MISS by 100% (4.00 MiB > 2 MiB)"


def test_results_file_is_named_to_sort_and_holds_the_run_context(tmp_path: Path) -> None:
    path = results_write(
        "fanout", {"ours": {"p99_ms": math.nan, "rate": 2.5}}, mode="quick", directory=tmp_path
    )
    assert re.fullmatch(r"fanout-\d{8}T\d{6}Z-quick\.json", path.name)
    document = json.loads(path.read_text())
    assert document["bench"] == "fanout"
    assert document["mode"] == "quick"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["date"])
    # Run from this checkout: a commit, marked dirty when files differ from it.
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", document["commit"])
    assert document["machine"]["cores"] >= 1
    assert document["machine"]["python"].count(".") == 2
    assert document["command"]
    # NaN is not JSON: an unknown figure is null.
    assert document["figures"] == {"ours": {"p99_ms": None, "rate": 2.5}}
    assert results_load(directory=tmp_path, bench="fanout") == [document]
    assert results_load(directory=tmp_path, bench="pipeline") == []


def test_results_refuse_raw_samples(tmp_path: Path) -> None:
    samples = list(range(MAX_BYTES))
    with pytest.raises(ValueError, match="not samples"):
        results_write("pipeline", {"samples": samples}, mode="full", directory=tmp_path)
    assert list(tmp_path.iterdir()) == []
