"""The WebSocket protocol: message types, validation of client messages, error and close codes.

Every message is {"type", "data", "timestamp"}. Every bad input gets an `error` message with
a stable code and the socket stays open; only abuse closes it, with a documented close code.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import django.db
import orjson
import redis.exceptions
from kombu.exceptions import OperationalError as BrokerError

from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.streams.frames import ServerType


class ClientType(StrEnum):
    PING = "ping"
    SUBSCRIBE_ASSET = "subscribe_asset"
    UNSUBSCRIBE_ASSET = "unsubscribe_asset"
    SUBSCRIBE_PORTFOLIO = "subscribe_portfolio"
    UNSUBSCRIBE_PORTFOLIO = "unsubscribe_portfolio"
    SET_BATCHING = "set_batching"


class ErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"  # not an object, or no string `type`
    UNKNOWN_TYPE = "unknown_type"
    INVALID_DATA = "invalid_data"  # missing or wrong-typed `data` or field
    UNKNOWN_SYMBOL = "unknown_symbol"
    AUTH_REQUIRED = "auth_required"
    FORBIDDEN = "forbidden"
    SUBSCRIPTION_LIMIT = "subscription_limit"
    MESSAGE_TOO_LARGE = "message_too_large"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # a backing service (Redis, database) failed: retry


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (4000-4999 are the application's)."""

    NORMAL = 1000
    INVALID_PAYLOAD = 1007  # uvicorn: a text frame that is not valid UTF-8 (RFC 6455)
    MESSAGE_TOO_BIG = 1009  # uvicorn, above --ws-max-size (64 KiB)
    # Redis failed while the socket opened (limits, registry): the standard "try again later".
    TRY_AGAIN_LATER = 1013
    IDLE_TIMEOUT = 4000
    UNAUTHORIZED = 4001  # a token that does not exist
    ABUSE = 4008  # kept sending after rate-limit and size errors
    # MAX_CONNECTIONS_PER_USER reached, or REALTIME_MAX_ANONYMOUS_PER_ADDRESS for anonymous
    # sockets from one client address: either way, close one before opening another.
    TOO_MANY_CONNECTIONS = 4029


MESSAGE_DESCRIPTIONS: dict[str, str] = {
    ClientType.PING: "Health check; the server answers `pong`.",
    ClientType.SUBSCRIBE_ASSET: "Subscribe to price updates of {symbol}; a snapshot follows "
    "the ack.",
    ClientType.UNSUBSCRIBE_ASSET: "Stop price updates of {symbol}.",
    ClientType.SUBSCRIBE_PORTFOLIO: "Subscribe to value updates of your portfolio {portfolio_id} "
    "(login required); a snapshot follows the ack.",
    ClientType.UNSUBSCRIBE_PORTFOLIO: "Stop value updates of {portfolio_id}.",
    ClientType.SET_BATCHING: "Opt in (or out) of one `batch` frame per tick carrying all "
    "updates: {enabled: true}.",
    ServerType.CONNECTION: "Sent on accept: {status, connection_id, authenticated, user_id}.",
    ServerType.PONG: "Answer to `ping`.",
    ServerType.SUBSCRIBED: "Ack of a subscribe: {kind, symbol | portfolio_id}.",
    ServerType.UNSUBSCRIBED: "Ack of an unsubscribe.",
    ServerType.ASSET_UPDATE: "Latest price of a symbol: {symbol, price, change, change_percent, "
    "volume, high, low, currency, previous_close, source, quote_time, stale}.",
    ServerType.PORTFOLIO_UPDATE: "Latest value of a portfolio: {portfolio_id, name, total_value, "
    "daily_change, daily_change_percent, currency, cost_basis, unrealised_gain, complete, "
    "missing, stale, stale_reason, as_of}. A figure whose inputs are unknown is null, never 0, "
    "and `missing` says why; `as_of` is when it was computed. `holdings`: every position "
    "{symbol, name, quantity, price, currency, value, daily_change, daily_change_percent, "
    "cost_basis, unrealised_gain, weight, stale, stale_reason, quote_time, missing}.",
    ServerType.BATCH: "With batching on: {updates: [asset_update | portfolio_update, ...]}.",
    ServerType.ERROR: "A refused message: {code, message, request_type}.",
    ServerType.ALERT: "One of your price alerts fired (sent unasked to every signed-in socket "
    "of its owner): {alert_id, event_id, target (symbol | portfolio), symbol, portfolio_id, "
    "name, condition (above | below | move), threshold, value, change_percent, currency, "
    "message, fired_at, as_of}. Clients that ignore unknown types are unaffected.",
    ServerType.HISTORY_READY: "Daily bars a chart of yours asked for have arrived (or could "
    "not be fetched): {symbol, bars, ranges, error}; read the series again.",
}


# What a failure means to the client, by exception type: one table for every handler. A type
# not listed here is a bug and is raised as such. Looked up along the exception's MRO, so a
# subclass may be listed apart from its base.
FAILURE_CODES: dict[type[BaseException], ErrorCode] = {
    redis.exceptions.ConnectionError: ErrorCode.UNAVAILABLE,  # also pool exhaustion, loading
    redis.exceptions.TimeoutError: ErrorCode.UNAVAILABLE,
    redis.exceptions.ReadOnlyError: ErrorCode.UNAVAILABLE,  # a replica during failover
    django.db.OperationalError: ErrorCode.UNAVAILABLE,
    django.db.InterfaceError: ErrorCode.UNAVAILABLE,  # a connection closed under the ORM
    BrokerError: ErrorCode.UNAVAILABLE,
    ConnectionError: ErrorCode.UNAVAILABLE,  # OSError family: refused, reset
    TimeoutError: ErrorCode.UNAVAILABLE,  # our own bound on a backing call (asyncio too)
}

FAILURE_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.UNAVAILABLE: "A backing service is unavailable; retry in a few seconds.",
}


def failure_code(error: BaseException) -> ErrorCode | None:
    """The code a client gets for this failure, or None when it is not a known failure."""
    for kind in type(error).__mro__:
        code = FAILURE_CODES.get(kind)
        if code is not None:
            return code
    return None


class ProtocolError(Exception):
    """A client message the server refuses; becomes an `error` message, socket stays open."""

    def __init__(self, code: ErrorCode, message: str, request_type: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_type = request_type


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: ClientType
    data: dict[str, Any]


def message_parse(text: str) -> ClientMessage:
    """Parse and check one client frame; raise ProtocolError with the code to send back."""
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError(ErrorCode.INVALID_JSON, "The message is not valid JSON.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, 'A message is a JSON object with a string "type".'
        )
    raw_type = payload["type"]
    try:
        message_type = ClientType(raw_type)
    except ValueError:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"Unknown message type {raw_type[:40]!r}.", raw_type[:40]
        ) from None
    data = payload.get("data", {} if message_type is ClientType.PING else None)
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_DATA, '"data" must be an object.', message_type)
    return ClientMessage(message_type, data)


def symbol_field(message: ClientMessage) -> str:
    raw = message.data.get("symbol")
    if not isinstance(raw, str):
        raise ProtocolError(ErrorCode.INVALID_DATA, '"data.symbol" must be a string.', message.type)
    try:
        # Interned: the same symbol from many sockets is one string in memory.
        return sys.intern(symbol_normalize(raw))
    except InvalidSymbol:
        raise ProtocolError(
            ErrorCode.INVALID_DATA, f"{raw[:40]!r} is not a valid ticker symbol.", message.type
        ) from None


def portfolio_id_field(message: ClientMessage) -> int:
    raw = message.data.get("portfolio_id")
    # bool is an int in Python: refuse it explicitly; accept digit strings from loose clients,
    # ASCII only and short: str.isdigit() also admits '²' and other scripts' digits, and int()
    # refuses strings of over 4,300 digits.
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 < raw < 2**63:
        raise ProtocolError(
            ErrorCode.INVALID_DATA, '"data.portfolio_id" must be a positive integer.', message.type
        )
    return raw


def flag_field(message: ClientMessage, name: str) -> bool:
    raw = message.data.get(name)
    if not isinstance(raw, bool):
        raise ProtocolError(
            ErrorCode.INVALID_DATA, f'"data.{name}" must be true or false.', message.type
        )
    return raw
