"""Access checks for the socket: does a symbol exist, is a portfolio this user's.

Both are read on every subscribe, so each process keeps a short-lived memory of the answers:
a reconnect burst of a thousand sockets must not queue twenty thousand queries on the
single thread that Channels gives the ORM.
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async

from apps.market.selectors import symbols_active
from apps.portfolios.selectors import portfolio_owned

SYMBOLS_TTL = 30.0
UNKNOWN_RECHECK = 5.0
OWNERSHIP_TTL = 60.0


_active_symbols = database_sync_to_async(symbols_active)
_owns = database_sync_to_async(portfolio_owned)


class AccessBook:
    """Per-process answers to the two questions, each with its own freshness."""

    def __init__(self) -> None:
        self.symbols: set[str] = set()
        self.symbols_loaded = 0.0
        self.owned: dict[tuple[int, int], float] = {}

    async def symbol_known(self, symbol: str) -> bool:
        age = time.monotonic() - self.symbols_loaded
        if age > SYMBOLS_TTL or (symbol not in self.symbols and age > UNKNOWN_RECHECK):
            self.symbols = set(await _active_symbols())
            self.symbols_loaded = time.monotonic()
        return symbol in self.symbols

    async def portfolio_owned(self, *, user_id: int, portfolio_id: int) -> bool:
        """True only for the owner; a missing portfolio and another's look the same."""
        key = (user_id, portfolio_id)
        checked = self.owned.get(key)
        if checked is not None and time.monotonic() - checked < OWNERSHIP_TTL:
            return True
        if await _owns(user_id=user_id, portfolio_id=portfolio_id):
            self.owned[key] = time.monotonic()
            return True
        self.owned.pop(key, None)
        return False


access_book = AccessBook()
