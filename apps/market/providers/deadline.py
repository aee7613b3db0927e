"""The time budget of one batch, as every source of the chain sees it.

A Celery task that outlives its soft time limit loses its whole batch. So the pipeline gives
the chain a deadline inside that limit, and each source stops *starting* requests that could
still run when it passes: a request started in time ends, at worst, at its own timeout.

The chain sets the deadline for the source it asks in a context variable, so `quotes(symbols)`
keeps its one-argument signature: sources that never wait (simulated) need not know of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Deadline:
    """An instant on the monotonic clock."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def allows(self, seconds: float) -> bool:
        """Whether something that may take `seconds` ends before the deadline."""
        return time.monotonic() + seconds <= self.at

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at


_current: ContextVar[Deadline | None] = ContextVar("price_batch_deadline", default=None)


def deadline_current() -> Deadline | None:
    """The deadline of the batch being fetched, or None outside a bounded batch."""
    return _current.get()


@contextmanager
def deadline_scope(deadline: Deadline | None) -> Iterator[None]:
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)
