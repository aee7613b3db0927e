"""Where channels-redis's pub/sub layer puts a group message, mirrored so that the pipeline can
publish a whole batch in one Redis round trip instead of one `group_send` at a time.

Read from channels-redis 4.3.0 (`channels_redis/pubsub.py` and `utils.py`): `group_send(group,
message)` PUBLISHes `layer.serialize(message)` to the Redis channel `f"{prefix}__group__{group}"`
on the host that `_consistent_hash(channel, len(hosts))` picks. The serializer is public and
used as is; the channel name, the host list's forms and the shard choice are private, so the
few lines that mirror them live here, and `tests/integration/test_publish_contract.py` fails
when the installed version is not the one they were read from (pinned in pyproject.toml) or
when a frame published this way no longer arrives through the layer's own `receive`.
"""

from __future__ import annotations

from binascii import crc32
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CHANNELS_REDIS_VERSION = "4.3.0"
PUBSUB_BACKEND = "channels_redis.pubsub.RedisPubSubChannelLayer"
_DEFAULT_PREFIX = "asgi"
_DEFAULT_ADDRESS = "redis://localhost:6379"
_HASH_RING = 4096  # the layer maps a CRC-32 to 0..4095, then onto its hosts


@dataclass(frozen=True)
class LayerWire:
    """How one configured pub/sub layer names, places and encodes a group message."""

    prefix: str
    shard_urls: tuple[str, ...]  # one Redis URL per host, in the layer's order
    serialize: Callable[[dict[str, Any]], bytes]

    def group_channel(self, group: str) -> str:
        return f"{self.prefix}__group__{group}"

    def shard_url(self, channel: str) -> str:
        return self.shard_urls[shard_index(channel, len(self.shard_urls))]


def shard_index(channel: str, shards: int) -> int:
    """The host a channel lives on: the layer's CRC-32 ring, float division included."""
    if shards == 1:
        return 0
    position = crc32(channel.encode("utf8")) & (_HASH_RING - 1)
    return int(position / (_HASH_RING / float(shards)))


def layer_wire(alias: str = "default") -> LayerWire:
    """The wire of the configured layer; ImproperlyConfigured for any other backend, whose
    messages travel differently (a pipelined PUBLISH would reach nobody)."""
    config = settings.CHANNEL_LAYERS.get(alias) or {}
    if config.get("BACKEND") != PUBSUB_BACKEND:
        raise ImproperlyConfigured(
            f"CHANNEL_LAYERS[{alias!r}] must use {PUBSUB_BACKEND}: the publisher writes its "
            f"wire format (apps/streams/layer_wire.py), found {config.get('BACKEND')!r}"
        )
    options = config.get("CONFIG") or {}
    layer = get_channel_layer(alias)
    if layer is None:
        raise ImproperlyConfigured(f"channels built no layer for CHANNEL_LAYERS[{alias!r}]")
    return LayerWire(
        prefix=options.get("prefix", _DEFAULT_PREFIX),
        shard_urls=tuple(host_url(host) for host in options.get("hosts") or [_DEFAULT_ADDRESS]),
        serialize=layer.serialize,
    )


def host_url(host: str | Mapping[str, Any] | Sequence[Any]) -> str:
    """A Redis URL for one entry of the layer's `hosts` (a URL, {"address": URL, ...}, or
    (host, port)); the layer's own connection options are not carried over."""
    if isinstance(host, str):
        return host
    if isinstance(host, Mapping):
        if "address" in host:
            return str(host["address"])
        if "host" in host:
            return f"redis://{host['host']}:{host.get('port', 6379)}/{host.get('db', 0)}"
        raise ImproperlyConfigured(
            f"the publisher cannot reach a channel layer host given as {sorted(host)}: "
            "give it an 'address' URL (Sentinel hosts are not supported)"
        )
    return f"redis://{host[0]}:{host[1]}"
