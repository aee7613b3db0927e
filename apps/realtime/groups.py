"""Group names and encode-once frames: shared by the pipeline (producer) and the WebSocket front.

An update is encoded to JSON text once, where it is produced; that text travels through the
channel layer as `{"type": FRAME_EVENT, "text": ...}` and is written to every watching socket
as is.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

FRAME_EVENT = "realtime.frame"
# Channels admits only ASCII letters, digits, hyphens, underscores and periods in group names;
# tickers also use ^ and =, which are escaped as _XX (hex). Tickers never contain "_".
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")


@lru_cache(maxsize=65_536)
def asset_group(symbol: str) -> str:
    """One string per symbol and process: a thousand sockets watching AAPL share it."""
    return "asset." + _GROUP_UNSAFE.sub(lambda m: f"_{ord(m.group()):02X}", symbol)


def portfolio_group(portfolio_id: int) -> str:
    return f"portfolio.{int(portfolio_id)}"


def wire_time(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a Z, milliseconds: 2024-01-15T10:30:00.123Z."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # money leaves Decimal only here, at the edge
    if isinstance(value, datetime):
        return wire_time(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def frame_encode(message_type: str, data: dict[str, Any], *, at: datetime | None = None) -> str:
    """The guide's envelope {type, data, timestamp}, as JSON text."""
    envelope = {"type": message_type, "data": data, "timestamp": wire_time(at)}
    # orjson writes datetimes itself as "+00:00"; passing them through gives the wire's "Z".
    return orjson.dumps(
        envelope, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME
    ).decode()


def group_event(group: str, text: str) -> dict[str, str]:
    """What is sent to a group: its name (a process-level subscriber serves many groups on one
    channel) and the encoded frame, ready to write to sockets."""
    return {"type": FRAME_EVENT, "group": group, "text": text}
