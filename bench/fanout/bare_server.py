"""The limit: a bare `websockets` server broadcasting the same frames, fed by Redis pub/sub.

    python -m bench.fanout.bare_server PORT

No Django, no Channels: one pattern subscription, and each published frame goes to the
sockets that watch its group with `websockets.broadcast`. The same wire settings as the
Procfile's uvicorn (no deflate, 64 KiB frames, pings every 20 s), on uvloop as uvicorn is.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import orjson
import redis.asyncio
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

from apps.streams.frames import frame_encode
from apps.streams.groups import asset_group
from bench.fanout.common import BARE_CHANNEL_PREFIX, REDIS_URL

Members = dict[str, set[ServerConnection]]


def handler_make(members: Members) -> Callable[[ServerConnection], Awaitable[None]]:
    async def handler(socket: ServerConnection) -> None:
        joined: set[str] = set()
        await socket.send(frame_encode("connection", {"status": "connected"}))
        try:
            async for raw in socket:
                message = orjson.loads(raw)
                if message.get("type") == "subscribe_asset":
                    symbol = str(message["data"]["symbol"])
                    group = asset_group(symbol)
                    members.setdefault(group, set()).add(socket)
                    joined.add(group)
                    ack = {"kind": "asset", "symbol": symbol}
                    await socket.send(frame_encode("subscribed", ack))
        finally:
            for group in joined:
                members[group].discard(socket)

    return handler


async def serve_forever(port: int) -> None:
    members: Members = {}
    client = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(BARE_CHANNEL_PREFIX + "*")
    skip = len(BARE_CHANNEL_PREFIX)
    async with serve(
        handler_make(members),
        "127.0.0.1",
        port,
        compression=None,
        max_size=65536,
        ping_interval=20,
        ping_timeout=20,
    ):
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None or message["type"] != "pmessage":
                continue
            watchers = members.get(message["channel"][skip:])
            if watchers:
                broadcast(watchers, message["data"])


def main() -> None:
    port = int(sys.argv[1])
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_forever(port))


if __name__ == "__main__":
    main()
