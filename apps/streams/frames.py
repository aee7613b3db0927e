"""Every server message type and its frame, encoded once: `{"type", "data", "timestamp"}`.

Updates are encoded where they are produced (the pipeline) and written to sockets as is;
the socket servers build their own control frames (acks, errors) with the same functions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from apps.streams.groups import GroupFrame, asset_group, portfolio_group, user_group
from apps.streams.payloads import AlertFired, AssetUpdate, HistoryReady, PortfolioUpdate


class ServerType(StrEnum):
    CONNECTION = "connection"
    PONG = "pong"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    ASSET_UPDATE = "asset_update"
    PORTFOLIO_UPDATE = "portfolio_update"
    BATCH = "batch"
    ERROR = "error"
    ALERT = "alert"
    HISTORY_READY = "history_ready"


def wire_time(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a Z, milliseconds: 2024-01-15T10:30:00.123Z."""
    if moment is None:  # now: never seen again, so not worth a place in the cache
        return _wire_time_format(datetime.now(UTC))
    return _wire_time_of(moment)


def _wire_time_format(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# A tick's frames carry few distinct moments (quote times, one `as_of`) many times over: 120k
# calls for ~500 moments when 10,000 watched portfolios are pushed.
@lru_cache(maxsize=4096)
def _wire_time_of(moment: datetime) -> str:
    return _wire_time_format(moment)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # money leaves Decimal only here, at the edge
    if isinstance(value, datetime):
        return wire_time(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def frame_encode(message_type: str, data: Any, *, at: datetime | None = None) -> str:
    """The guide's envelope {type, data, timestamp}, as JSON text (`data`: a dict or payload)."""
    envelope = {"type": message_type, "data": data, "timestamp": wire_time(at)}
    # orjson writes datetimes itself as "+00:00"; passing them through gives the wire's "Z".
    return orjson.dumps(
        envelope, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME
    ).decode()


# --- updates: built by the pipeline, published to a group ------------------------------------


def asset_update_frame(update: AssetUpdate) -> GroupFrame:
    return asset_group(update.symbol), frame_encode(ServerType.ASSET_UPDATE, update)


def portfolio_update_frame(update: PortfolioUpdate) -> GroupFrame:
    return portfolio_group(update.portfolio_id), frame_encode(ServerType.PORTFOLIO_UPDATE, update)


def alert_frame(*, owner_id: int, alert: AlertFired) -> GroupFrame:
    return user_group(owner_id), frame_encode(ServerType.ALERT, alert)


def history_ready_frame(*, user_id: int, ready: HistoryReady) -> GroupFrame:
    return user_group(user_id), frame_encode(ServerType.HISTORY_READY, ready)


def batch_frame(texts: list[str]) -> str:
    """One `batch` message carrying encoded updates, joined without decoding them."""
    return (
        '{"type":"batch","data":{"updates":[' + ",".join(texts) + ']},"timestamp":"'
        + wire_time() + '"}'
    )  # fmt: skip


# --- control: built by the socket servers, for one socket -------------------------------------


def connection_frame(*, connection_id: str, user_id: int | None) -> str:
    return frame_encode(ServerType.CONNECTION, {
        "status": "connected",
        "connection_id": connection_id,
        "authenticated": user_id is not None,
        "user_id": user_id,
    })  # fmt: skip


def pong_frame(*, connection_id: str) -> str:
    return frame_encode(ServerType.PONG, {"connection_id": connection_id})


def subscribed_frame(ack: dict[str, Any]) -> str:
    """Ack of a subscribe: {kind, symbol | portfolio_id} (or {kind: batching, enabled})."""
    return frame_encode(ServerType.SUBSCRIBED, ack)


def unsubscribed_frame(ack: dict[str, Any]) -> str:
    return frame_encode(ServerType.UNSUBSCRIBED, ack)


def error_frame(*, code: str, message: str, request_type: str | None) -> str:
    return frame_encode(
        ServerType.ERROR, {"code": code, "message": message, "request_type": request_type}
    )
