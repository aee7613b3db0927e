"""One fan-out hub per server process: the process, not the socket, is the group member.

The hub owns one channel on the channel layer, joins a group when its first local socket
subscribes and leaves when the last one goes, reads its channel in one task and writes each
encoded frame straight to the ASGI send of every local socket that watches the group.
Consumers never receive ticks through their own channel queue (DESIGN.md, decisions 2, 5, 6).

A slow reader never delays the others: each socket is an Outlet (apps/realtime/outlet.py)
that conflates while its previous write drains.

The hub also watches its own link: every second it sends a probe to its own channel and
expects the echo. The layer reconnects by itself but drops what was published in the gap
without a word (channels_redis #406), so when the echo comes back after an outage the hub
sends every watched group's snapshot from the shared store to its sockets at once. The
outage is logged twice: once when lost, once when back, with its length.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from apps.realtime.outlet import Outlet
from apps.realtime.protocol import failure_code
from apps.streams.groups import group_carries_events
from apps.streams.snapshots import snapshot_aget

logger = logging.getLogger("personal_finance.realtime.hub")

# Batched sockets get one frame per burst of updates: a tick's group sends arrive over a few
# milliseconds, so a short window gathers them.
BATCH_WINDOW_SECONDS = 0.05
# The link check: a probe every REALTIME_LINK_PROBE_SECONDS (1 s); the link is lost when a
# probe cannot be sent, or when more than three sent in a row go unanswered (counted in
# probes, not seconds, so a busy event loop that sends late never looks like an outage). A
# probe's echo missing from the row is a gap in the subscription even when the watcher did
# not see it.
PROBE_EVENT = "realtime.hub_probe"
UNANSWERED_PROBES = 3
LEAVE_SECONDS = 5.0


class _Turn:
    """A group's lock and how many coroutines hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class FanoutHub:
    """The process's single subscriber to the channel layer."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel = ""
        self.members: dict[str, set[Outlet]] = {}
        # The last frame of every group this process is in: the snapshot for its next local
        # subscriber, with no round trip (the process hears every publish while it is in).
        self.latest: dict[str, str] = {}
        # Only while a join or leave of the group runs: a lock per name ever asked for would
        # let any client grow the process by sending well-formed names.
        self._turns: dict[str, _Turn] = {}
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._batch_flush: asyncio.TimerHandle | None = None
        self._batching: set[Outlet] = set()
        self._starting = asyncio.Lock()
        self.frames_in = 0
        self.probes_sent = 0
        self.probes_heard = 0  # the number of the latest probe that came back
        self.lost_at: float | None = None  # when the link was lost; None while it is up

    async def start(self) -> None:
        async with self._starting:
            if self._reader is None:
                self.channel = await self.layer.new_channel("hub.")
                self._reader = asyncio.ensure_future(self._read())
                self._watcher = asyncio.ensure_future(self._watch())

    async def subscribe(self, outlet: Outlet, group: str) -> None:
        """Route `group` to the outlet; the first local watcher joins the group for the process.

        Raises what the layer raises (Redis down): then nothing is joined.
        """
        # Marked first: a detach while the join waits on Redis then leaves after it.
        outlet.groups[group] = None
        try:
            async with self._turn(group):
                watchers = self.members.get(group)
                if watchers is None:
                    await self.layer.group_add(group, self.channel)
                    watchers = self.members[group] = set()
                watchers.add(outlet)
        except BaseException:
            outlet.groups.pop(group, None)
            raise

    def remember(self, group: str, text: str | None) -> None:
        """Keep a snapshot read elsewhere, unless a newer frame already arrived."""
        if text is not None and group in self.members:
            self.latest.setdefault(group, text)

    async def unsubscribe(self, outlet: Outlet, group: str) -> None:
        """Stop routing `group` to the outlet; never raises for an outage.

        The local routing is what the socket sees. If the layer cannot leave the group now,
        the process stays subscribed in Redis and the layer drops what arrives for it.
        """
        outlet.groups.pop(group, None)
        outlet.pending.pop(group, None)
        outlet.batch.pop(group, None)
        if group not in self.members and group not in self._turns:
            return  # nobody here watches it, and no join is under way
        async with self._turn(group):
            watchers = self.members.get(group)
            if watchers is None:
                return
            watchers.discard(outlet)
            if not watchers:
                del self.members[group]
                self.latest.pop(group, None)
                try:
                    async with asyncio.timeout(LEAVE_SECONDS):  # a closing socket waits on it
                        await self.layer.group_discard(group, self.channel)
                except Exception as error:
                    if failure_code(error) is None:
                        raise
                    logger.debug("hub: %s stays subscribed in Redis for now: %s", group, error)

    async def detach(self, outlet: Outlet) -> None:
        outlet.closed = True
        self._batching.discard(outlet)
        for group in list(outlet.groups):
            await self.unsubscribe(outlet, group)

    def batching_set(self, outlet: Outlet, enabled: bool) -> None:
        outlet.batching = enabled
        if enabled:
            self._batching.add(outlet)
        else:
            self._batching.discard(outlet)
            outlet.flush_batch()

    @asynccontextmanager
    async def _turn(self, group: str) -> AsyncIterator[None]:
        """Joins and leaves of one group run one at a time; the lock lives only meanwhile."""
        turn = self._turns.get(group)
        if turn is None:
            turn = self._turns[group] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if not turn.users:
                del self._turns[group]

    async def _read(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if failure_code(error) is None:
                    logger.exception("hub: receiving from the channel layer failed; retrying")
                else:
                    self._link_lost(f"{type(error).__name__}: {error}")
                await asyncio.sleep(1)
                continue
            if event.get("type") == PROBE_EVENT:
                self._link_heard(int(event.get("n", 0)))
            else:
                self.fan_out(event.get("group", ""), event.get("text", ""))

    async def _watch(self) -> None:
        """Probe the link through the layer itself: publish to our channel, hear the echo."""
        every = float(settings.REALTIME_LINK_PROBE_SECONDS)
        while True:
            await asyncio.sleep(every)
            probe = self.probes_sent + 1  # numbered only once sent: echoes come in a row
            try:
                async with asyncio.timeout(every * UNANSWERED_PROBES):
                    await self.layer.send(self.channel, {"type": PROBE_EVENT, "n": probe})
            except Exception as error:
                if failure_code(error) is None:
                    logger.exception("hub: probing the channel layer failed")
                else:
                    self._link_lost(f"{type(error).__name__}: {error}")
                continue
            self.probes_sent = probe
            if self.probes_sent - self.probes_heard > UNANSWERED_PROBES:
                self._link_lost(f"{UNANSWERED_PROBES} probes unanswered")

    def _link_lost(self, why: str) -> None:
        if self.lost_at is None:
            self.lost_at = time.monotonic()
            logger.warning(
                "hub: channel layer link lost (%s); groups watched here: %d", why, len(self.members)
            )

    def _link_heard(self, probe: int) -> None:
        missed = probe - self.probes_heard - 1
        self.probes_heard = max(self.probes_heard, probe)
        if self.lost_at is not None:
            outage, self.lost_at = time.monotonic() - self.lost_at, None
            headline = f"channel layer link back after {outage:.1f} s"
        elif missed > 0:
            # An echo skipped: the subscription dropped for less than the watcher noticed,
            # and whatever was published then is gone as well.
            headline = f"channel layer link dropped briefly ({missed} probe echo lost)"
        else:
            return
        task = asyncio.ensure_future(self._resync(headline))
        task.add_done_callback(_log_failure)

    async def _resync(self, headline: str) -> None:
        """After an outage: every watched group's latest snapshot, to its sockets, now."""
        from apps.realtime.snapshot_read import portfolio_snapshot_checked  # it imports the hub

        before = dict(self.latest)
        groups = list(self.members)
        texts = await asyncio.gather(*map(snapshot_aget, groups), return_exceptions=True)
        sent = 0
        for group, text in zip(groups, texts, strict=True):
            # Skip what the sockets already have, and groups a live frame reached meanwhile
            # (the snapshot read may be older than it).
            if not isinstance(text, str) or self.latest.get(group) is not before.get(group):
                continue
            if text != before.get(group) and group in self.members:
                # A portfolio's value may predate prices saved during the outage: say so.
                self._deliver(group, await portfolio_snapshot_checked(text))
                sent += 1
        failed = sum(isinstance(text, BaseException) for text in texts)
        logger.warning(
            "hub: %s; %d of %d groups had a newer snapshot%s",
            headline, sent, len(groups), f" ({failed} could not be read)" if failed else "",
        )  # fmt: skip

    def fan_out(self, group: str, text: str) -> None:
        self.frames_in += 1
        if text:
            self._deliver(group, text)

    def _deliver(self, group: str, text: str) -> None:
        watchers = self.members.get(group)
        if not watchers:
            return
        if group_carries_events(group):
            for outlet in watchers:
                outlet.say(text)  # in order, never conflated or batched
            return
        self.latest[group] = text
        for outlet in watchers:
            outlet.deliver(group, text)
        if self._batching and self._batch_flush is None:
            loop = asyncio.get_running_loop()
            self._batch_flush = loop.call_later(BATCH_WINDOW_SECONDS, self._flush_batches)

    def _flush_batches(self) -> None:
        self._batch_flush = None
        for outlet in self._batching:
            outlet.flush_batch()


def _log_failure(task: asyncio.Task[None]) -> None:
    error = None if task.cancelled() else task.exception()
    if error is not None:
        logger.error("hub: resending snapshots failed: %s: %s", type(error).__name__, error)


_hubs: dict[asyncio.AbstractEventLoop, FanoutHub] = {}


async def hub_get() -> FanoutHub:
    """The hub of the running event loop (one per server process), started on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("CHANNEL_LAYERS is not configured")
        hub = _hubs[loop] = FanoutHub(layer)
    await hub.start()
    return hub
