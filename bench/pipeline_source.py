"""The simulated source on a clock the bench moves, timed, behind the name `simulated`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from apps.market.providers import registry
from apps.market.providers.base import QuoteBatch
from apps.market.providers.simulated import TICK_SECONDS, SimulatedProvider
from bench.stopwatch import Stopwatch


class SteppedClock:
    """Starts `steps` source ticks in the past, so every tick it moves to is already over.

    It moves one tick of the source (TICK_SECONDS) at a time, as a feed polling at that rate
    would: most ticks fall between the source's kept 10 s points, where pricing costs most.
    """

    def __init__(self, steps: int) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        self.now = now - timedelta(seconds=steps * TICK_SECONDS)

    def __call__(self) -> datetime:
        return self.now

    def advance(self) -> None:
        self.now += timedelta(seconds=TICK_SECONDS)


class TimedSimulatedProvider(SimulatedProvider):
    def __init__(self, *, clock: SteppedClock, stopwatch: Stopwatch) -> None:
        super().__init__(clock=clock)
        self.stopwatch = stopwatch

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        with self.stopwatch.stage("fetch"):
            return super().quotes(symbols)


@contextmanager
def simulated_source(provider: SimulatedProvider) -> Iterator[None]:
    """While the block runs, `price_batch_fetch(source="simulated")` asks this provider."""
    original = registry.SOURCES["simulated"]
    registry.SOURCES["simulated"] = lambda: provider
    try:
        yield
    finally:
        registry.SOURCES["simulated"] = original
