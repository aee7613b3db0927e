"""The data of bench.tick_to_screen: assets, a viewer, the 1 s schedule, and the save log.

`Asset` keeps only its latest quote, so the bench's own database keeps the history: a trigger
(created here, in the bench database only, never by a migration) copies every saved quote's
(symbol, quote_time, last_updated, price) and the moment its row was written to a log table.
Frames are matched to those rows after the run; nothing in the application is changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SAVES_TABLE = "bench_quote_saves"
VIEWER = "tick-to-screen-viewer"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_LOG = """
CREATE TABLE IF NOT EXISTS {table} (
    symbol text, quote_time timestamptz, last_updated timestamptz, price numeric,
    written_at timestamptz);
TRUNCATE {table};
CREATE OR REPLACE FUNCTION bench_quote_saved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {table} VALUES (
        NEW.symbol, NEW.quote_time, NEW.last_updated, NEW.current_price, clock_timestamp());
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER bench_quote_saved AFTER UPDATE ON {assets} FOR EACH ROW
    WHEN (NEW.last_updated IS DISTINCT FROM OLD.last_updated)
    EXECUTE FUNCTION bench_quote_saved();
"""


@dataclass(frozen=True)
class Save:
    symbol: str
    quote_time: datetime
    last_updated: datetime
    price: Decimal
    written_at: datetime

    @property
    def key(self) -> str:
        """How a frame names it: symbol and quote time as on the wire."""
        from apps.streams.frames import wire_time

        return f"{self.symbol}|{wire_time(self.quote_time)}"


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def symbol_names(count: int) -> list[str]:
    return [f"T{index:03d}" for index in range(count)]


def assets_reset(symbols: Sequence[str]) -> None:
    """Only these assets, always refreshed (no holder or watcher needed to be due)."""
    from apps.market.models import Asset

    Asset.objects.all().delete()
    Asset.objects.bulk_create(
        Asset(symbol=symbol, name=f"Bench {symbol}", currency="USD", always_refresh=True)
        for symbol in symbols
    )


def saves_log_install(database_url: str) -> None:
    from apps.market.models import Asset

    statements = sql.SQL(_LOG).format(
        table=sql.Identifier(SAVES_TABLE), assets=sql.Identifier(Asset._meta.db_table)
    )
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(statements)


def assets_price(symbols: Sequence[str], batch_size: int) -> int:
    """Price every asset once, as the worker does, so each socket gets a snapshot."""
    from apps.market.pipeline import batches_split, price_batch_fetch

    return sum(
        len(price_batch_fetch(symbols=batch, source="simulated").changed)
        for batch in batches_split(symbols, batch_size)
    )


def viewer_session(symbols: Sequence[str]) -> str:
    """A user watching `symbols` on the dashboard; returns a signed-in session's cookie."""
    from django.contrib.auth.models import User
    from django.test import Client

    from apps.portfolios.watchlist import watchlist_symbol_add

    User.objects.filter(username=VIEWER).delete()
    user = User.objects.create_user(VIEWER, password=secrets.token_urlsafe(16))
    for symbol in symbols:
        watchlist_symbol_add(user_id=user.pk, symbol=symbol)
    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def schedule_every_second(batch_size: int) -> None:
    from apps.market.schedule import refresh_schedule_apply

    refresh_schedule_apply(every_seconds=1, batch_size=batch_size)


async def saves_count(connection: psycopg.AsyncConnection, since: datetime) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE last_updated >= %s").format(
        sql.Identifier(SAVES_TABLE)
    )
    row = await (await connection.execute(query, [since])).fetchone()
    return int(row[0]) if row else 0


async def saves_read(connection: psycopg.AsyncConnection, since: datetime) -> list[Save]:
    query = sql.SQL(
        "SELECT symbol, quote_time, last_updated, price, written_at FROM {} "
        "WHERE last_updated >= %s ORDER BY last_updated"
    ).format(sql.Identifier(SAVES_TABLE))
    rows = await (await connection.execute(query, [since])).fetchall()
    return [Save(*row) for row in rows]


def database_drop(database_url: str) -> None:
    from django.db import connections

    connections.close_all()
    name = str(conninfo_to_dict(database_url)["dbname"])
    with psycopg.connect(make_conninfo(database_url, dbname="postgres"), autocommit=True) as pg:
        pg.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    print(f"database {name}: dropped")
