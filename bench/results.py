"""Every bench's figures as one small JSON file, with what is needed to compare two runs.

    path = results_write("fanout", {"ours": {...}, ...}, mode="quick")

A file is `bench/results/<bench>-<UTC date>T<time>Z-<mode>.json`, so a plain sort is the
order of the runs. It holds the commit (`+dirty` when the tree had changes), the UTC time, the
machine, the command line and the mode around the bench's own `figures`. Keep figures to
summaries (percentiles, rates, a ladder): raw samples make a file nobody will read.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
SCHEMA = 1
# A summary is a few KiB; past this a bench is writing samples, which it should not.
MAX_BYTES = 64 * 1024


def results_write(
    bench: str, figures: Mapping[str, Any], *, mode: str, directory: Path = RESULTS_DIR
) -> Path:
    """Write one run's figures; returns the file's path."""
    now = datetime.now(UTC)
    document = {
        "schema": SCHEMA,
        "bench": bench,
        "mode": mode,
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **commit_describe(),
        "command": command_line(),
        "machine": machine_describe(),
        "figures": json_ready(figures),
    }
    # allow_nan=False: NaN is not JSON; json_ready has already made it null.
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    if len(text.encode()) > MAX_BYTES:
        raise ValueError(
            f"{bench} results are {len(text.encode()):,} bytes (limit {MAX_BYTES:,}): "
            "write percentiles and rates, not samples"
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{bench}-{now:%Y%m%dT%H%M%SZ}-{mode}.json"
    path.write_text(text)
    return path


def results_load(*, directory: Path = RESULTS_DIR, bench: str | None = None) -> list[dict]:
    """Every results file under `directory` (kept ones in subfolders too), oldest first."""
    found: dict[str, Path] = {}
    for path in directory.rglob("*.json"):
        found.setdefault(path.name, path)  # a kept copy of a local run counts once
    documents = [json.loads(found[name].read_text()) for name in sorted(found)]
    documents = [d for d in documents if bench is None or d.get("bench") == bench]
    return sorted(documents, key=lambda d: d.get("date", ""))


def commit_describe() -> dict[str, str | None]:
    """The checked-out commit, `+dirty` when files differ from it; null and why when unknown."""
    try:
        head = git("rev-parse", "HEAD")
        # --no-optional-locks: reading the status must not rewrite the shared index.
        changes = git("--no-optional-locks", "status", "--porcelain")
    except (OSError, subprocess.CalledProcessError) as error:
        return {"commit": None, "commit_reason": f"git could not tell: {error}"}
    return {"commit": head + ("+dirty" if changes else ""), "commit_reason": None}


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=20
    )
    return done.stdout.strip()


def command_line() -> str:
    """How the bench was started, as one would type it (`python -m bench.x --quick`)."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    return shlex.join([Path(argv[0]).name, *argv[1:]])


def machine_describe() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def cpu_model() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or None
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return models[0] if models else (platform.processor() or None)


def memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def json_ready(value: Any) -> Any:
    """Plain JSON: dataclasses as objects, Decimal as numbers, NaN and infinity as null."""
    if is_dataclass(value) and not isinstance(value, type):
        return json_ready(asdict(value))
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(item) for item in value]
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Path):
        return str(value)
    return value
