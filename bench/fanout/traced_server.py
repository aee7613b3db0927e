"""uvicorn with tracemalloc on: SIGUSR1 takes a snapshot, the second and later ones are diffed.

    python -m bench.fanout.traced_server <uvicorn arguments>

The first SIGUSR1 stores a baseline; every later one writes the allocations grown since,
by source line and by file, to $TRACE_OUT (JSON). Only for `bench.fanout.profile memory`.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tracemalloc
from types import FrameType

import uvicorn

_baseline: list[tracemalloc.Snapshot] = []


def _top(snapshot: tracemalloc.Snapshot, key: str, limit: int = 25) -> list[tuple[str, int, int]]:
    stats = snapshot.compare_to(_baseline[0], key)
    return [
        (str(stat.traceback[0]), stat.size_diff, stat.count_diff)
        for stat in sorted(stats, key=lambda s: -s.size_diff)[:limit]
    ]


def _dump(signum: int, frame: FrameType | None) -> None:
    ignore = tracemalloc.Filter(False, tracemalloc.__file__)
    snapshot = tracemalloc.take_snapshot().filter_traces([ignore])
    if not _baseline:
        _baseline.append(snapshot)
        return
    total = sum(s.size_diff for s in snapshot.compare_to(_baseline[0], "filename"))
    report = {
        "total": total,
        "lines": _top(snapshot, "lineno"),
        "files": _top(snapshot, "filename"),
    }
    with open(os.environ["TRACE_OUT"], "w") as out:
        json.dump(report, out)


def main() -> None:
    tracemalloc.start(1)
    signal.signal(signal.SIGUSR1, _dump)
    sys.argv = ["uvicorn", *sys.argv[1:]]
    uvicorn.main()


if __name__ == "__main__":
    main()
