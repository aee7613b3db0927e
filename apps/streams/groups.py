"""Channels group names, and the event a group carries: one function per name, used by both sides.

An update is encoded to JSON text once, where it is produced; that text travels through the
channel layer as `{"type": FRAME_EVENT, "group": ..., "text": ...}` and is written to every
watching socket as is.
"""

from __future__ import annotations

import re
from functools import lru_cache

FRAME_EVENT = "realtime.frame"
GroupFrame = tuple[str, str]  # (group name, encoded frame text)

# Channels admits only ASCII letters, digits, hyphens, underscores and periods in group names;
# tickers also use ^ and =, which are escaped as _XX (hex). Tickers never contain "_".
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")


@lru_cache(maxsize=65_536)
def asset_group(symbol: str) -> str:
    """One string per symbol and process: a thousand sockets watching AAPL share it."""
    return "asset." + _GROUP_UNSAFE.sub(lambda m: f"_{ord(m.group()):02X}", symbol)


def portfolio_group(portfolio_id: int) -> str:
    return f"portfolio.{int(portfolio_id)}"


def user_group(user_id: int) -> str:
    """Every open socket of one person: alerts and replies meant for them alone."""
    return f"user.{int(user_id)}"


def group_carries_events(group: str) -> bool:
    """A person's group carries events (each alert matters), not states (only the latest
    matters): its frames are never conflated, and it keeps no snapshot."""
    return group.startswith("user.")


def group_event(group: str, text: str) -> dict[str, str]:
    """What is sent to a group: its name (a process-level subscriber serves many groups on one
    channel) and the encoded frame, ready to write to sockets."""
    return {"type": FRAME_EVENT, "group": group, "text": text}
