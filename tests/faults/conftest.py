"""Fixtures the fault tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.outages import OwnRedis


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A redis-server of the test's own, to stop, kill and restart (never the shared one)."""
    redis = OwnRedis()
    redis.start()
    yield redis
    redis.stop()
