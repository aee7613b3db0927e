"""Connections and their subscriptions in Redis, written by every server process.

Each connection has a hash (user, process) and two sets (assets, portfolios), all with an
expiry that the process's heartbeat renews; a sorted set per user scored by expiry enforces
MAX_CONNECTIONS_PER_USER across processes and hosts, and one per client address does the
same for anonymous sockets (REALTIME_MAX_ANONYMOUS_PER_ADDRESS). A crashed process stops
counting when its entries expire (REALTIME_CONNECTION_TTL), so the figures stay right
without any cleanup.

A Redis restart (or flush) loses all of it while the sockets stay open: every heartbeat
writes each connection whole again, and each process keeps a beacon key beside its entries,
so a missing beacon tells it to write them at once instead of at its next heartbeat.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from config.redis_client import async_redis_client, redis_client, redis_key

# Prune expired, count, admit: one atomic step, so two processes cannot both take the last slot.
_SLOT_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def connection_ttl() -> int:
    """Seconds a connection counts without a heartbeat; heartbeats come every third of it."""
    return int(settings.REALTIME_CONNECTION_TTL)


def heartbeat_seconds() -> float:
    return connection_ttl() / 3


def _conn_key(connection_id: str, part: str = "") -> str:
    return redis_key("conn", connection_id, part) if part else redis_key("conn", connection_id)


def _user_key(user_id: int) -> str:
    return redis_key("user_conns", user_id)


def _address_key(address: str) -> str:
    return redis_key("anon_conns", address)


def _slots_key(user_id: int | None, address: str | None) -> str | None:
    """Where a connection holds its slot: its user's set, else its address's, else none."""
    if user_id:
        return _user_key(user_id)
    return _address_key(address) if address else None


ALL_CONNECTIONS = "conns"


def process_name() -> str:
    """This server process, as its connections name it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _beacon_key() -> str:
    return redis_key("registry_beacon", process_name())


async def registry_intact() -> bool:
    """True while this process's last heartbeat is still in Redis (it was not restarted or
    flushed since); raises what the client raises when Redis does not answer."""
    return bool(await async_redis_client().exists(_beacon_key()))


async def _slot_acquire(key: str, connection_id: str, limit: int) -> bool:
    now = time.time()
    admitted = await async_redis_client().eval(
        _SLOT_ACQUIRE, 1, key, now, now + connection_ttl(), connection_id, limit,
        connection_ttl() * 2,
    )  # fmt: skip
    return bool(admitted)


async def user_slot_acquire(*, user_id: int, connection_id: str, limit: int) -> bool:
    """Take one of the user's connection slots; False when all `limit` are in use."""
    return await _slot_acquire(_user_key(user_id), connection_id, limit)


async def anonymous_slot_acquire(*, address: str, connection_id: str, limit: int) -> bool:
    """Take one of the anonymous slots of a client address; False when all are in use."""
    return await _slot_acquire(_address_key(address), connection_id, limit)


async def connection_add(*, connection_id: str, user_id: int | None, process: str) -> None:
    expires = time.time() + connection_ttl()
    pipe = async_redis_client().pipeline(transaction=False)
    pipe.hset(_conn_key(connection_id), mapping={"user": user_id or "", "process": process})
    pipe.expire(_conn_key(connection_id), connection_ttl())
    pipe.zadd(redis_key(ALL_CONNECTIONS), {connection_id: expires})
    await pipe.execute()


async def connection_remove(
    *, connection_id: str, user_id: int | None, address: str | None = None
) -> None:
    """Forget a connection and give back its slot (its user's, or its address's)."""
    pipe = async_redis_client().pipeline(transaction=False)
    pipe.delete(
        _conn_key(connection_id), _conn_key(connection_id, "assets"),
        _conn_key(connection_id, "portfolios"),
    )  # fmt: skip
    pipe.zrem(redis_key(ALL_CONNECTIONS), connection_id)
    slots = _slots_key(user_id, address)
    if slots:
        pipe.zrem(slots, connection_id)
    await pipe.execute()


@dataclass(slots=True)
class ConnectionState:
    """What a heartbeat writes for one local connection.

    Tuples: a heartbeat makes one per local socket at once, and a 20-entry set is 2 KiB (20,000
    sockets: 40 MiB for the length of the write, against 4 MiB)."""

    connection_id: str
    user_id: int | None
    assets: tuple[str, ...] = ()
    portfolios: tuple[int, ...] = ()
    address: str | None = None  # the client address an anonymous socket is counted under


# Connections per pipeline of a heartbeat: packing one for 20,000 sockets (150,000 commands)
# held the event loop for seconds, long enough for new connections to be dropped.
SYNC_CHUNK = 500


async def connections_sync(
    states: Sequence[ConnectionState], *, round_trip_timeout: float | None = None
) -> None:
    """Write these connections whole (owner, subscriptions, slots) with a fresh expiry, and
    this process's beacon last: after a Redis restart this alone rebuilds them. One round trip
    per SYNC_CHUNK connections, so other sockets are served between them."""
    now = time.time()
    client = async_redis_client()
    process = process_name()
    for start in range(0, len(states), SYNC_CHUNK):
        pipe = client.pipeline(transaction=False)
        _connections_queue(pipe, states[start : start + SYNC_CHUNK], now, process)
        async with asyncio.timeout(round_trip_timeout):
            await pipe.execute()
    async with asyncio.timeout(round_trip_timeout):
        await client.set(_beacon_key(), int(now), ex=connection_ttl())


def _connections_queue(
    pipe: Any, states: Iterable[ConnectionState], now: float, process: str
) -> None:
    for state in states:
        cid = state.connection_id
        pipe.hset(_conn_key(cid), mapping={"user": state.user_id or "", "process": process})
        for part, members in (("assets", state.assets), ("portfolios", state.portfolios)):
            key = _conn_key(cid, part)
            pipe.delete(key)
            if members:
                pipe.sadd(key, *map(str, members))
                pipe.expire(key, connection_ttl())
        pipe.expire(_conn_key(cid), connection_ttl())
        pipe.zadd(redis_key(ALL_CONNECTIONS), {cid: now + connection_ttl()})
        slots = _slots_key(state.user_id, state.address)
        if slots:
            pipe.zadd(slots, {cid: now + connection_ttl()})
            # Renewed with its members: the set must not expire under live connections.
            pipe.expire(slots, connection_ttl() * 2)


async def subscriptions_apply(changes: Iterable[tuple[str, str, str | int, bool]]) -> None:
    """Add and remove single subscriptions: (connection id, kind, member, added)."""
    pipe = async_redis_client().pipeline(transaction=False)
    touched: set[str] = set()
    for connection_id, kind, member, added in changes:
        key = _conn_key(connection_id, f"{kind}s")
        if added:
            pipe.sadd(key, str(member))
        else:
            pipe.srem(key, str(member))
        touched.add(key)
    for key in touched:
        pipe.expire(key, connection_ttl())
    await pipe.execute()


@dataclass
class GlobalStats:
    total_connections: int = 0
    authenticated_users: int = 0
    portfolio_subscriptions: int = 0
    asset_subscriptions: int = 0


@dataclass
class UserStats:
    connection_count: int = 0
    portfolios: list[int] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)


def live_connection_ids() -> list[str]:
    client = redis_client()
    now = time.time()
    client.zremrangebyscore(redis_key(ALL_CONNECTIONS), "-inf", now)
    return [str(cid) for cid in client.zrangebyscore(redis_key(ALL_CONNECTIONS), now, "+inf")]


def stats_read(*, user_id: int | None) -> tuple[GlobalStats, UserStats]:
    """Figures over every live connection of every process, and the given user's share."""
    ids = live_connection_ids()
    pipe = redis_client().pipeline(transaction=False)
    for cid in ids:
        pipe.hget(_conn_key(cid), "user")
        pipe.smembers(_conn_key(cid, "assets"))
        pipe.smembers(_conn_key(cid, "portfolios"))
    rows = pipe.execute()
    totals, mine = GlobalStats(), UserStats()
    users: set[str] = set()
    my_assets: set[str] = set()
    my_portfolios: set[int] = set()
    for index in range(len(ids)):
        owner, assets, portfolios = rows[3 * index : 3 * index + 3]
        if owner is None:
            continue  # expired between the two reads
        totals.total_connections += 1
        if owner:
            users.add(owner)
        totals.asset_subscriptions += len(assets)
        totals.portfolio_subscriptions += len(portfolios)
        if user_id is not None and owner == str(user_id):
            mine.connection_count += 1
            my_assets |= assets
            my_portfolios |= {int(p) for p in portfolios}
    totals.authenticated_users = len(users)
    mine.assets, mine.portfolios = sorted(my_assets), sorted(my_portfolios)
    return totals, mine
