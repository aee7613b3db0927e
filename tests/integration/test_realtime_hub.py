"""The fan-out hub on the real channel layer (Redis pub/sub): what it keeps per group."""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

from channels.layers import get_channel_layer

from apps.realtime.hub import PROBE_EVENT, FanoutHub
from apps.realtime.outlet import Outlet
from apps.streams.frames import frame_encode
from apps.streams.groups import user_group
from apps.streams.publish import frames_publish_rollback_unsafe
from apps.streams.snapshots import snapshots_missing, snapshots_store

HUB_SOURCE = tracemalloc.Filter(True, "*/apps/realtime/hub.py")


async def _discard(message: dict[str, Any]) -> None:
    return None


async def _hub_kept_bytes(work: Any) -> int:
    """Bytes allocated in hub.py and still held after `work(hub, outlet)` ran."""
    hub = FanoutHub(get_channel_layer())
    await hub.start()
    outlet = Outlet(_discard)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces([HUB_SOURCE])
        await work(hub, outlet)
        after = tracemalloc.take_snapshot().filter_traces([HUB_SOURCE])
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def test_unsubscribing_from_groups_nobody_joined_keeps_nothing() -> None:
    async def abuse(hub: FanoutHub, outlet: Outlet) -> None:
        for number in range(10_000):
            await hub.unsubscribe(outlet, f"asset.X{number}")

    kept = asyncio.run(_hub_kept_bytes(abuse))
    assert kept < 16_384, f"{kept} bytes kept for 10,000 groups nobody joined"


def test_a_group_left_by_its_last_watcher_keeps_nothing() -> None:
    async def churn(hub: FanoutHub, outlet: Outlet) -> None:
        for number in range(1_000):
            group = f"asset.C{number}"
            await hub.subscribe(outlet, group)
            await hub.unsubscribe(outlet, group)
        assert hub.members == {}

    kept = asyncio.run(_hub_kept_bytes(churn))
    assert kept < 16_384, f"{kept} bytes kept for 1,000 groups joined and left"


def test_a_probe_echo_missing_from_the_row_resends_the_stored_snapshots() -> None:
    """A gap in the probes' echoes means the subscription dropped for a moment, and what
    was published then is gone: the sockets get the shared store's snapshots at once."""
    group = "asset.GAPX"
    missed = frame_encode("asset_update", {"symbol": "GAPX", "price": 5.5})
    written: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        written.append(message["text"])

    async def scenario() -> None:
        layer = get_channel_layer()
        hub = FanoutHub(layer)
        await hub.start()
        await hub.subscribe(Outlet(send), group)
        await asyncio.to_thread(snapshots_store, [(group, missed)])  # published, unheard
        # An echo far ahead of the row, through the real layer: the ones between were lost.
        await layer.send(hub.channel, {"type": PROBE_EVENT, "n": hub.probes_sent + 100})
        async with asyncio.timeout(5):
            while missed not in written:
                await asyncio.sleep(0.05)

    asyncio.run(scenario())


def test_a_persons_events_reach_a_slow_socket_every_one_in_order_and_keep_no_snapshot() -> None:
    """Alerts are events, not states: while a socket's write drains, three alerts published to
    its owner's group all arrive, in order (a price group would keep only the latest), and
    nothing is kept to replay to the next socket."""
    group = user_group(7)
    alerts = [frame_encode("alert", {"alert_id": number}) for number in range(3)]
    written: list[str] = []
    drained = asyncio.Event()

    async def slow_send(message: dict[str, Any]) -> None:
        if not written:
            written.append(message["text"])
            await drained.wait()  # the first write blocks: the rest queue behind it
            return
        written.append(message["text"])

    async def scenario() -> FanoutHub:
        hub = FanoutHub(get_channel_layer())
        await hub.start()
        await hub.subscribe(Outlet(slow_send), group)
        greeting = frame_encode("connection", {})
        hub.members[group].copy().pop().say(greeting)  # the socket is now busy writing
        await asyncio.to_thread(frames_publish_rollback_unsafe, [(group, a) for a in alerts])
        async with asyncio.timeout(5):
            while hub.frames_in < len(alerts):
                await asyncio.sleep(0.02)
        drained.set()
        async with asyncio.timeout(5):
            while len(written) < 1 + len(alerts):
                await asyncio.sleep(0.02)
        return hub

    hub = asyncio.run(scenario())
    assert written[1:] == alerts
    assert group not in hub.latest
    assert snapshots_missing([group]) == [group]
