"""Where the channel layer hands each update on: the same moment a socket server's hub gets it.

A subscriber of the bench's own joins every asset group through the configured layer, as a
server process does, and notes when each (symbol, quote_time) first arrived. Save to here is
the pipeline's part (commit, encode, snapshots, publish, Redis); here to a socket is the
server's fan-out and the client's read.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from bench.receiver import GroupReceiver


class LayerArrivals(GroupReceiver):
    """Runs in a thread of its own: start it before the event loop and stop it after."""

    def __init__(self, groups: list[str]) -> None:
        super().__init__(groups)
        self.arrivals: dict[str, int] = {}  # "SYMBOL|quote_time" -> first arrival, us

    def _count(self, message: dict[str, Any]) -> None:
        at = time.time_ns() // 1000
        data = orjson.loads(message["text"])["data"]
        key = f"{data['symbol']}|{data['quote_time']}"
        with self._lock:
            self.arrivals.setdefault(key, at)
            self.frames[key.split("|", 1)[0]] += 1
