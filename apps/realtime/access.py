"""Access checks for the socket: does a symbol exist, is a portfolio this user's.

Both are read on every subscribe, so each process keeps a short-lived memory of the answers:
a reconnect burst of a thousand sockets must not queue twenty thousand queries on the
single thread that Channels gives the ORM.
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async

from apps.market.models import Asset
from apps.portfolios.models import Portfolio

SYMBOLS_TTL = 30.0
UNKNOWN_RECHECK = 5.0
OWNERSHIP_TTL = 60.0


@database_sync_to_async
def _active_symbols() -> set[str]:
    return set(Asset.objects.filter(is_active=True).values_list("symbol", flat=True))


@database_sync_to_async
def _owns(user_id: int, portfolio_id: int) -> bool:
    return Portfolio.objects.filter(pk=portfolio_id, owner_id=user_id).exists()


class AccessBook:
    """Per-process answers to the two questions, each with its own freshness."""

    def __init__(self) -> None:
        self.symbols: set[str] = set()
        self.symbols_loaded = 0.0
        self.owned: dict[tuple[int, int], float] = {}

    async def symbol_known(self, symbol: str) -> bool:
        age = time.monotonic() - self.symbols_loaded
        if age > SYMBOLS_TTL or (symbol not in self.symbols and age > UNKNOWN_RECHECK):
            self.symbols = await _active_symbols()
            self.symbols_loaded = time.monotonic()
        return symbol in self.symbols

    async def portfolio_owned(self, *, user_id: int, portfolio_id: int) -> bool:
        """True only for the owner; a missing portfolio and another's look the same."""
        key = (user_id, portfolio_id)
        checked = self.owned.get(key)
        if checked is not None and time.monotonic() - checked < OWNERSHIP_TTL:
            return True
        if await _owns(user_id, portfolio_id):
            self.owned[key] = time.monotonic()
            return True
        self.owned.pop(key, None)
        return False


access_book = AccessBook()
