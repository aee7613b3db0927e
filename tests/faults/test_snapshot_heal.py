"""Redis lost its data (a restart, a flush) while prices stood still: the next batch publishes
the unchanged prices again, so open sockets and the snapshot store are whole within a tick.

Without it, a price saved while Redis was down (or any price, once Redis came back empty)
would reach nobody until it changed: hours, in a closed market.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from django.db import connection

from apps.market.models import Asset
from apps.market.pipeline import BatchSummary, price_batch_fetch
from apps.market.providers.chain import ProviderChain
from apps.market.providers.simulated import SimulatedProvider
from apps.streams.groups import asset_group
from apps.streams.snapshots import snapshot_get, snapshot_key
from config.redis_client import redis_client
from tests.e2e.test_pipeline_worker import receive_updates

pytestmark = [pytest.mark.django_db(transaction=True)]

MOMENT = datetime.now(UTC).replace(microsecond=0)


def still_market() -> ProviderChain:
    """The simulated market stopped at one moment: every batch gets the same quotes."""
    return ProviderChain([SimulatedProvider(clock=lambda: MOMENT)])


def test_an_unchanged_price_whose_snapshot_redis_lost_is_published_again() -> None:
    Asset.objects.create(symbol="HEAL", name="Heal Inc.")
    first = price_batch_fetch(symbols=["HEAL"], chain=still_market())
    assert first.changed == ["HEAL"]
    saved = snapshot_get(asset_group("HEAL"))
    assert saved is not None
    redis_client().delete(snapshot_key(asset_group("HEAL")))  # what a Redis restart does

    batches: list[BatchSummary] = []

    def batch() -> None:  # in a thread of its own: its database connection is closed after
        try:
            batches.append(price_batch_fetch(symbols=["HEAL"], chain=still_market()))
        finally:
            connection.close()

    frames = asyncio.run(receive_updates([asset_group("HEAL")], batch, bool))

    [summary] = batches
    assert (summary.changed, summary.unchanged) == ([], ["HEAL"])
    assert summary.republished == ["HEAL"]
    assert frames[0]["data"] == orjson.loads(saved)["data"]  # the same state, pushed again
    assert snapshot_get(asset_group("HEAL")) is not None


def test_an_unchanged_price_whose_snapshot_is_held_is_not_published_again() -> None:
    Asset.objects.create(symbol="HEAL", name="Heal Inc.")
    price_batch_fetch(symbols=["HEAL"], chain=still_market())

    again = price_batch_fetch(symbols=["HEAL"], chain=still_market())

    assert again.unchanged == ["HEAL"]
    assert again.republished == []
