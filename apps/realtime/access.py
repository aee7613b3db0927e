"""Access checks for the socket: does a symbol exist, is a portfolio this user's.

Both are read on every subscribe, so each process keeps a short-lived memory of the answers:
a reconnect burst of a thousand sockets must not queue twenty thousand queries on the
single thread that Channels gives the ORM. Expired symbols are reloaded once, however many
subscribes ask at the same moment.
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async

from apps.market.selectors import symbols_active
from apps.portfolios.selectors import portfolio_owned
from apps.realtime.protocol import failure_code

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
        self._reload: asyncio.Task[None] | None = None
        self.owned: dict[tuple[int, int], float] = {}

    async def symbol_known(self, symbol: str) -> bool:
        """Raises when the database fails and the symbol was not known before."""
        age = time.monotonic() - self.symbols_loaded
        if age > SYMBOLS_TTL or (symbol not in self.symbols and age > UNKNOWN_RECHECK):
            try:
                await self._symbols_reload()
            except Exception as error:
                # A symbol known at the last load still is: the database being down is no reason
                # to refuse it. An unknown one cannot be told apart from a new one: raise.
                if failure_code(error) is None or symbol not in self.symbols:
                    raise
        return symbol in self.symbols

    async def _symbols_reload(self) -> None:
        """One reload at a time, awaited by every caller that needs it."""
        task = self._reload
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = self._reload = asyncio.ensure_future(self._symbols_load())
        # Shielded: a caller that gives up (its own timeout) must not cancel the others' reload.
        await asyncio.shield(task)

    async def _symbols_load(self) -> None:
        self.symbols = set(await _active_symbols())
        self.symbols_loaded = time.monotonic()

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
