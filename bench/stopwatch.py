"""Seconds spent per stage, measured from outside: wrap a module's function for one run."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from types import ModuleType
from typing import Any

Target = tuple[ModuleType, str, str]  # (module, attribute, stage)


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        return wrapper

    @contextmanager
    def instrument(self, targets: Sequence[Target]) -> Iterator[list[str]]:
        """Time each target while the block runs; yields the targets that were missing."""
        originals = [(module, name, getattr(module, name, None)) for module, name, _ in targets]
        missing = [f"{module.__name__}.{name}" for module, name, found in originals if not found]
        for (module, name, stage), (_, _, original) in zip(targets, originals, strict=True):
            if original is not None:
                setattr(module, name, self.timed(stage, original))
        try:
            yield missing
        finally:
            for module, name, original in originals:
                if original is not None:
                    setattr(module, name, original)
