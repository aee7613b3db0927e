"""The socket's access book: one symbol reload however many subscribes ask at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from apps.realtime.access import AccessBook
from tests.factories import asset_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_burst_of_subscribes_reloads_the_symbols_once() -> None:
    asset_create("AAPL")
    asset_create("MSFT")
    queries: list[str] = []

    def counted(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    @database_sync_to_async
    def watch(on: bool) -> None:
        # The ORM thread that Channels uses for every socket's queries.
        if on:
            connection.execute_wrappers.append(counted)
        else:
            connection.execute_wrappers.remove(counted)
            connection.close()  # the test database is dropped at the end of the run

    async def burst() -> list[bool]:
        book = AccessBook()
        await watch(True)
        try:
            asks = ["AAPL", "MSFT", "NOPE"] * 100
            return await asyncio.gather(*(book.symbol_known(symbol) for symbol in asks))
        finally:
            await watch(False)

    answers = asyncio.run(burst())
    assert answers == [True, True, False] * 100
    assert len(queries) == 1, queries
