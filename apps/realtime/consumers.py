"""The socket at /ws/realtime/: holds the connection, checks who may see what, never computes.

Ticks reach it through the process's hub (apps/realtime/hub.py), not through this consumer's
channel queue: it has none (`channel_layer_alias = None`).

A failing Redis or database never closes an open socket: the message that needed it gets
the error code the protocol's failure table gives (`unavailable`) and may be sent again.
Only a socket that cannot be registered while it opens is closed, with 1013 (try later).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.portfolios.requests import portfolio_revalue_request
from apps.realtime.access import access_book
from apps.realtime.auth import APP_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, client_address
from apps.realtime.book import book_get
from apps.realtime.hub import FanoutHub, hub_get
from apps.realtime.limits import LogThrottle, TokenBucket
from apps.realtime.outlet import Outlet
from apps.realtime.protocol import (
    FAILURE_MESSAGES,
    ClientMessage,
    CloseCode,
    ErrorCode,
    ProtocolError,
    failure_code,
    flag_field,
    message_parse,
    portfolio_id_field,
    symbol_field,
)
from apps.realtime.registry import (
    ConnectionState,
    anonymous_slot_acquire,
    connection_add,
    connection_remove,
    process_name,
    user_slot_acquire,
)
from apps.realtime.snapshot_read import snapshot_read
from apps.streams.frames import (
    connection_frame,
    error_frame,
    pong_frame,
    subscribed_frame,
    unsubscribed_frame,
)
from apps.streams.groups import asset_group, portfolio_group, user_group

logger = logging.getLogger("personal_finance.realtime.consumers")

ABUSE_LIMIT = 20  # refused messages (rate, size) before the socket is closed


def _backing_timeout() -> float:
    """How long one message or handshake may wait on Redis or the database before the client
    is told `unavailable`: a server that stopped answering must not hold the socket's queue."""
    return float(settings.REALTIME_BACKEND_TIMEOUT)


# During an outage every socket sees the same failure: one line per interval says so.
_failures_log = LogThrottle(every=10.0)


# Asks a worker for a fresh value (Redis and the broker, off the event loop).
_revalue_request = sync_to_async(portfolio_revalue_request, thread_sensitive=False)


class RealtimeConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None  # no per-socket channel: the hub serves this process
    groups = ()  # joined through the hub, never by Channels' connect (saves a list a socket)

    outlet: Outlet
    hub: FanoutHub

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' loop without what serves a channel-layer queue this consumer does not
        have: reading two queues at once costs a receive task and an `asyncio.wait` (its
        waiter, callbacks and set) held by every idle socket, about 3 KiB (issue 17). With one
        queue, the next message is simply awaited; messages still run one at a time."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # AsyncConsumer.dispatch hops to the ORM thread before every message to close stale
        # database connections: the single biggest cost of a message here. This consumer
        # touches the ORM only through database_sync_to_async, which does that itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.connection_id = uuid.uuid4().hex
        self.registered = False
        user = self.scope.get("user")
        self.user_id: int | None = user.pk if user is not None and user.is_authenticated else None
        self.address = None if self.user_id is not None else client_address(self.scope)
        subprotocol = self._subprotocol()
        if self.scope.get("token_rejected"):
            await self._refuse(subprotocol, CloseCode.UNAUTHORIZED)
            return
        if self.user_id is None and not settings.REALTIME_ALLOW_ANONYMOUS:
            await self._refuse(subprotocol, CloseCode.UNAUTHORIZED)
            return
        try:
            async with asyncio.timeout(_backing_timeout()):
                admitted = await self._slot_acquire()
                if admitted:
                    self.hub = await hub_get()
        except Exception as error:
            if failure_code(error) is None:
                raise
            _failure_logged("opening a socket", error)
            await self._forget()
            await self._refuse(subprotocol, CloseCode.TRY_AGAIN_LATER)
            return
        if not admitted:
            await self._refuse(subprotocol, CloseCode.TOO_MANY_CONNECTIONS)
            return
        await self.accept(subprotocol)
        self.outlet = Outlet(self.base_send)
        # Dicts used as sets, as in Outlet: a 20-entry set takes 2 KiB (issue 17).
        self.assets: dict[str, None] = {}
        self.portfolios: dict[int, None] = {}
        self.bucket = TokenBucket(
            rate=settings.REALTIME_MESSAGE_RATE, burst=settings.REALTIME_MESSAGE_BURST
        )
        self.abuse = 0
        self.last_seen = time.monotonic()
        self.registered = True
        book_get().add(self)
        try:
            async with asyncio.timeout(_backing_timeout()):
                await connection_add(
                    connection_id=self.connection_id, user_id=self.user_id, process=process_name()
                )
        except Exception as error:
            if failure_code(error) is None:
                raise
            _failure_logged("registering a socket", error)
            await self.disconnect(CloseCode.TRY_AGAIN_LATER)
            await self.close(code=CloseCode.TRY_AGAIN_LATER)
            return
        self.outlet.say(connection_frame(connection_id=self.connection_id, user_id=self.user_id))
        if self.user_id is not None:
            await self._join_own_group(self.user_id)

    async def _join_own_group(self, user_id: int) -> None:
        """Alerts and other pushes to this person reach every socket of theirs: each joins the
        user's group through the hub (one Redis subscription per process, however many tabs).
        Failing that (Redis down) the socket still serves prices; it is said once in the log."""
        try:
            async with asyncio.timeout(_backing_timeout()):
                await self.hub.subscribe(self.outlet, user_group(user_id))
        except Exception as error:
            if failure_code(error) is None:
                raise
            _failure_logged("joining the user's group", error)

    async def _slot_acquire(self) -> bool:
        """A slot under the user's limit, or (anonymous) under the client address's."""
        if self.user_id is not None:
            return await user_slot_acquire(
                user_id=self.user_id,
                connection_id=self.connection_id,
                limit=settings.MAX_CONNECTIONS_PER_USER,
            )
        return await anonymous_slot_acquire(
            address=self.address or "unknown",
            connection_id=self.connection_id,
            limit=settings.REALTIME_MAX_ANONYMOUS_PER_ADDRESS,
        )

    async def _forget(self) -> None:
        """Drop the registry entries and the slot; in an outage they expire on their own."""
        try:
            async with asyncio.timeout(_backing_timeout()):
                await connection_remove(
                    connection_id=self.connection_id, user_id=self.user_id, address=self.address
                )
        except Exception as error:
            if failure_code(error) is None:
                raise
            _failure_logged("unregistering a socket", error)

    def _subprotocol(self) -> str | None:
        offered = self.scope.get("subprotocols", [])
        if APP_SUBPROTOCOL in offered:
            return APP_SUBPROTOCOL
        return next((p for p in offered if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)), None)

    async def _refuse(self, subprotocol: str | None, code: CloseCode) -> None:
        # Accept first, so the client sees the documented close code, not a bare 403.
        await self.accept(subprotocol)
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "registered", False):
            return  # refused at connect, or already cleaned up by idle_close
        self.registered = False
        book_get().remove(self)
        await self.hub.detach(self.outlet)
        await self._forget()

    # --- messages ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.registered:
            return
        self.last_seen = time.monotonic()
        try:
            await self._handle(text_data, bytes_data)
        except ProtocolError as error:
            self.outlet.say(error_frame(
                code=error.code, message=error.message, request_type=error.request_type
            ))  # fmt: skip
            if error.code in (ErrorCode.RATE_LIMITED, ErrorCode.MESSAGE_TOO_LARGE):
                self.abuse += 1
                if self.abuse >= ABUSE_LIMIT:
                    await self.close(code=CloseCode.ABUSE)

    async def _handle(self, text: str | None, binary: bytes | None) -> None:
        size = len(text.encode()) if text is not None else len(binary or b"")
        if size > settings.REALTIME_MAX_MESSAGE_BYTES:
            raise ProtocolError(
                ErrorCode.MESSAGE_TOO_LARGE,
                f"Messages are limited to {settings.REALTIME_MAX_MESSAGE_BYTES} bytes.",
            )
        if not self.bucket.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED, "Too many messages; slow down.")
        if text is None:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE, "Send JSON text frames, not binary.")
        message = message_parse(text)
        handler = getattr(self, f"_on_{message.type.value}")
        try:
            async with asyncio.timeout(_backing_timeout()):
                await handler(message)
        except Exception as error:
            code = failure_code(error)
            if code is None:
                raise  # a ProtocolError as it is, or a bug
            _failure_logged(message.type, error)
            raise ProtocolError(code, FAILURE_MESSAGES[code], message.type) from error

    async def _on_ping(self, message: ClientMessage) -> None:
        self.outlet.say(pong_frame(connection_id=self.connection_id))

    async def _on_set_batching(self, message: ClientMessage) -> None:
        enabled = flag_field(message, "enabled")
        self.hub.batching_set(self.outlet, enabled)
        self.outlet.say(subscribed_frame({"kind": "batching", "enabled": enabled}))

    async def _on_subscribe_asset(self, message: ClientMessage) -> None:
        symbol = symbol_field(message)
        if not await access_book.symbol_known(symbol):
            raise ProtocolError(ErrorCode.UNKNOWN_SYMBOL, f"Unknown symbol {symbol}.", message.type)
        if symbol not in self.assets:
            self._check_room(message)
        await self._subscribe(asset_group(symbol), {"kind": "asset", "symbol": symbol})
        if symbol not in self.assets:
            symbol = sys.intern(symbol)  # one string for every socket watching it
            self.assets[symbol] = None
            book_get().subscribed(self, "asset", symbol)

    async def _on_subscribe_portfolio(self, message: ClientMessage) -> None:
        portfolio_id = portfolio_id_field(message)
        if self.user_id is None:
            raise ProtocolError(
                ErrorCode.AUTH_REQUIRED, "Log in to watch portfolios.", message.type
            )
        if not await access_book.portfolio_owned(user_id=self.user_id, portfolio_id=portfolio_id):
            raise ProtocolError(
                ErrorCode.FORBIDDEN, f"Portfolio {portfolio_id} is not yours.", message.type
            )
        if portfolio_id not in self.portfolios:
            self._check_room(message)
        await self._subscribe(
            portfolio_group(portfolio_id), {"kind": "portfolio", "portfolio_id": portfolio_id}
        )
        if portfolio_id not in self.portfolios:
            self.portfolios[portfolio_id] = None
            book_get().subscribed(self, "portfolio", portfolio_id)
        # The cached value may predate prices that changed while nobody watched this
        # portfolio (unwatched portfolios are not revalued): a worker sends a fresh one now.
        await _revalue_request(portfolio_id=portfolio_id)

    async def _on_unsubscribe_asset(self, message: ClientMessage) -> None:
        symbol = symbol_field(message)
        if symbol in self.assets:  # anything else never reached the hub: nothing to undo
            del self.assets[symbol]
            book_get().unsubscribed(self, "asset", symbol)
            await self.hub.unsubscribe(self.outlet, asset_group(symbol))
        self.outlet.say(unsubscribed_frame({"kind": "asset", "symbol": symbol}))

    async def _on_unsubscribe_portfolio(self, message: ClientMessage) -> None:
        portfolio_id = portfolio_id_field(message)
        if portfolio_id in self.portfolios:
            del self.portfolios[portfolio_id]
            book_get().unsubscribed(self, "portfolio", portfolio_id)
            await self.hub.unsubscribe(self.outlet, portfolio_group(portfolio_id))
        self.outlet.say(unsubscribed_frame({"kind": "portfolio", "portfolio_id": portfolio_id}))

    def _check_room(self, message: ClientMessage) -> None:
        limit = settings.MAX_SUBSCRIPTIONS_PER_CONNECTION
        if len(self.assets) + len(self.portfolios) >= limit:
            raise ProtocolError(
                ErrorCode.SUBSCRIPTION_LIMIT,
                f"At most {limit} subscriptions per connection.",
                message.type,
            )

    async def _subscribe(self, group: str, ack: dict[str, Any]) -> None:
        """Join and read the snapshot, then send the ack and the snapshot, with updates held
        meanwhile. If either step fails, nothing stays joined and nothing was sent."""
        self.outlet.held[group] = None
        try:
            rejoin = group in self.outlet.groups
            await self.hub.subscribe(self.outlet, group)
            try:
                snapshot = await snapshot_read(self.hub, group, symbol=ack.get("symbol"))
            except BaseException:  # an outage, or our own timeout cancelling the read
                if not rejoin:
                    await self.hub.unsubscribe(self.outlet, group)
                raise
            self.outlet.say(subscribed_frame(ack))
            if snapshot is not None:
                self.outlet.say(snapshot)
        finally:
            self.outlet.release(group)

    # --- book keeping (apps/realtime/book.py) -------------------------------------------------

    def state(self) -> ConnectionState:
        return ConnectionState(
            self.connection_id,
            self.user_id,
            tuple(self.assets),
            tuple(self.portfolios),
            self.address,
        )

    async def idle_close(self) -> None:
        logger.info("closing idle connection %s", self.connection_id)
        # Unregister first: the close frame may wait on a socket that no longer reads
        # (uvicorn's pings then end it), and the registry must not count it meanwhile.
        await self.disconnect(CloseCode.IDLE_TIMEOUT)
        await self.close(code=CloseCode.IDLE_TIMEOUT)


def _failure_logged(what: str, error: BaseException) -> None:
    skipped = _failures_log.allow()
    if skipped is not None:
        more = f" ({skipped} more since the last line)" if skipped else ""
        logger.warning(
            "%s failed, the client may retry: %s: %s%s", what, type(error).__name__, error, more
        )
