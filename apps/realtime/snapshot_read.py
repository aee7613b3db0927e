"""The snapshot a new subscriber gets: this process's memory, then the shared store, then
(for a symbol whose cached frame expired) the saved row, through the market's selector.

A portfolio snapshot may predate prices saved since: portfolios nobody watches are not
revalued, and the fresh value a subscribe asks for never comes while no worker runs. So
before it goes out, its `as_of` is compared with the newest save among the portfolio's
prices (a selector; nothing is recomputed here), and it is sent flagged stale when a price
is newer. Checked here, once per portfolio subscribe, rather than by the pipeline marking
the snapshots of unwatched portfolios as it saves prices: that would rewrite the snapshot of
every portfolio holding a changed symbol on every tick (100,000s, nearly all never read) and
would still miss prices saved elsewhere (admin, shell). Checks asked for while one query
runs share the next, so a reconnect burst costs a few queries, not one per socket.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime

from channels.db import database_sync_to_async

from apps.market.selectors import asset_frame_get
from apps.portfolios.selectors import portfolios_prices_saved_newest
from apps.realtime.hub import FanoutHub
from apps.streams.snapshots import portfolio_snapshot_stamp, snapshot_aget, snapshot_stale_marked

logger = logging.getLogger("personal_finance.realtime.snapshots")

_asset_frame_get = database_sync_to_async(asset_frame_get)
_prices_saved_newest = database_sync_to_async(portfolios_prices_saved_newest)

PRICES_CHANGED = "prices changed since this value was computed"
NOT_CHECKED = "could not check for prices saved since this value was computed"


async def snapshot_read(hub: FanoutHub, group: str, *, symbol: str | None = None) -> str | None:
    """The latest frame of `group`, or None when nothing is known yet."""
    text = hub.latest.get(group)
    if text is None:
        text = await snapshot_aget(group)
        if text is None and symbol is not None:
            text = await _asset_frame_get(symbol)
        hub.remember(group, text)
    if text is not None and symbol is None:
        text = await portfolio_snapshot_checked(text)
    return text


async def portfolio_snapshot_checked(text: str) -> str:
    """`text` as is, or flagged stale when one of its portfolio's prices was saved after its
    `as_of` (any other frame passes through untouched)."""
    stamp = portfolio_snapshot_stamp(text)
    if stamp is None:
        return text
    portfolio_id, as_of = stamp
    try:
        newest = await _saves_book().newest(portfolio_id)
    except Exception:  # the database is away: say the value is unchecked, never hide it
        logger.exception("could not check portfolio %s for prices saved since", portfolio_id)
        return snapshot_stale_marked(text, NOT_CHECKED)
    if newest is not None and newest > as_of:
        return snapshot_stale_marked(text, PRICES_CHANGED)
    return text


class SavesBook:
    """The newest price save of each portfolio, asked for in bursts and read in batches."""

    def __init__(self) -> None:
        self._waiting: Waiting = {}
        self._reader: asyncio.Task[None] | None = None

    async def newest(self, portfolio_id: int) -> datetime | None:
        future: asyncio.Future[datetime | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(portfolio_id, []).append(future)
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read())
        return await future

    async def _read(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                result: dict[int, datetime] | Exception
                try:
                    result = await _prices_saved_newest(list(batch))
                except Exception as error:
                    result = error
                _settle(batch, result)
        finally:
            self._reader = None


Waiting = dict[int, list[asyncio.Future[datetime | None]]]


def _settle(batch: Waiting, result: dict[int, datetime] | Exception) -> None:
    for portfolio_id, futures in batch.items():
        for future in futures:
            if future.done():  # a subscriber that went away cancelled its wait
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result.get(portfolio_id))


_books: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SavesBook] = (
    weakref.WeakKeyDictionary()
)


def _saves_book() -> SavesBook:
    """The book of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    book = _books.get(loop)
    if book is None:
        book = _books[loop] = SavesBook()
    return book
