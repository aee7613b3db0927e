"""The alerts bench's data: users, priced assets and alerts, loaded by COPY; and the ticks.

Seeded, so every run is the same. Alerts sit where people put them: most armed a little or
far away from the price (so a tick fires a few, not thousands), some already fired with the
price still beyond the threshold, a few paused; more alerts on popular symbols than on others.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection
from psycopg import sql

from apps.alerts.models import Alert
from apps.market.models import Asset
from bench.revaluation_data import table_copy

PRICE_PLACES = Decimal("0.0001")
THRESHOLD_PLACES = Decimal("0.00000001")
CONDITIONS = ("above", "below", "move")
CONDITION_WEIGHTS = (45, 45, 10)
PAUSED_SHARE = 0.05
FIRED_SHARE = 0.10
MARGINS = (Decimal("0.5"), Decimal("0.5"), Decimal("1.0"), Decimal("0"))


@dataclass(frozen=True)
class Shape:
    alerts: int
    symbols: int
    users: int
    seed: int = 20_261_201


@dataclass
class Quote:
    asset_id: int
    symbol: str
    price: Decimal
    previous_close: Decimal


def quotes_plan(shape: Shape) -> list[Quote]:
    rng = random.Random(shape.seed)
    quotes = []
    for index in range(1, shape.symbols + 1):
        price = Decimal(rng.uniform(5, 500)).quantize(PRICE_PLACES)
        previous = (price * Decimal(1 - rng.gauss(0, 0.01))).quantize(PRICE_PLACES)
        quotes.append(Quote(index, f"AL{index:04d}", price, previous))
    return quotes


def data_load(database_url: str, shape: Shape, quotes: Sequence[Quote]) -> None:
    """Replace users, assets and alerts with the shape's, in one transaction, then analyse."""
    now = datetime.now(UTC)
    user_table = get_user_model()._meta.db_table
    tables = [Alert._meta.db_table, Asset._meta.db_table, user_table]
    with psycopg.connect(database_url) as pg, pg.cursor() as cursor:
        names = sql.SQL(", ").join(map(sql.Identifier, tables))
        cursor.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))
        table_copy(cursor, user_table, USER_COLUMNS, _users(shape, now))
        table_copy(cursor, Asset._meta.db_table, ASSET_COLUMNS, _assets(quotes, now))
        table_copy(cursor, Alert._meta.db_table, ALERT_COLUMNS, _alerts(shape, quotes, now))
    with psycopg.connect(database_url, autocommit=True) as pg:
        pg.execute(sql.SQL("VACUUM ANALYZE {}").format(names))


USER_COLUMNS = [
    "id", "password", "is_superuser", "username", "first_name", "last_name", "email",
    "is_staff", "is_active", "date_joined",
]  # fmt: skip


def _users(shape: Shape, now: datetime) -> Iterator[Sequence[object]]:
    for index in range(1, shape.users + 1):
        yield (index, "!", False, f"alertbench{index}", "", "", "", False, True, now)


ASSET_COLUMNS = [
    "id", "symbol", "name", "exchange", "currency", "asset_type", "current_price",
    "previous_close", "quote_time", "last_updated", "source", "market_state", "stale_reason",
    "is_active", "always_refresh",
]  # fmt: skip


def _assets(quotes: Sequence[Quote], now: datetime) -> Iterator[Sequence[object]]:
    for q in quotes:
        yield (q.asset_id, q.symbol, f"Bench {q.symbol}", "BENCH", "USD", "stock", q.price,
               q.previous_close, now, now, "bench", "open", "", True, False)  # fmt: skip


ALERT_COLUMNS = [
    "id", "owner_id", "asset_id", "condition", "threshold", "rearm_margin_percent", "note",
    "paused", "state", "fired_at", "fired_value", "created_at", "updated_at",
]  # fmt: skip


def _alerts(shape: Shape, quotes: Sequence[Quote], now: datetime) -> Iterator[Sequence[object]]:
    rng = random.Random(shape.seed + 1)
    # Popular symbols carry more alerts (a long tail, as watchlists do).
    weights = [1 / (rank + 10) for rank in range(len(quotes))]
    chosen = rng.choices(quotes, weights=weights, k=shape.alerts)
    for alert_id, quote in enumerate(chosen, start=1):
        condition = rng.choices(CONDITIONS, weights=CONDITION_WEIGHTS)[0]
        fired = rng.random() < FIRED_SHARE
        threshold = _threshold(rng, condition, quote, fired=fired)
        yield (
            alert_id, rng.randint(1, shape.users), quote.asset_id, condition,
            threshold.quantize(THRESHOLD_PLACES), rng.choice(MARGINS), "",
            rng.random() < PAUSED_SHARE, "fired" if fired else "armed",
            now if fired else None, quote.price if fired else None, now, now,
        )  # fmt: skip


def _threshold(rng: random.Random, condition: str, quote: Quote, *, fired: bool) -> Decimal:
    """Armed: not crossed yet, 0.2 % to 20 % away. Fired: crossed, the price still beyond."""
    away = Decimal(rng.uniform(0.002, 0.2))
    price = quote.price
    if condition == "move":
        moved = abs(price - quote.previous_close) / quote.previous_close * 100
        if fired and moved > Decimal("0.2"):
            return moved * Decimal(rng.uniform(0.5, 0.99))
        return moved + 100 * away
    if fired:
        away /= 4
        return price * (1 - away) if condition == "above" else price * (1 + away)
    return price * (1 + away) if condition == "above" else price * (1 - away)


def tick_apply(quotes: Sequence[Quote], rng: random.Random, sd: float) -> None:
    """One tick's new prices for these assets, saved now in one statement (as quotes_save
    leaves them: price, quote time, last saved, no stale flag)."""
    for quote in quotes:
        moved = quote.price * Decimal(1 + rng.gauss(0, sd))
        quote.price = max(moved.quantize(PRICE_PLACES), PRICE_PLACES)
    ids = [quote.asset_id for quote in quotes]
    prices = [quote.price for quote in quotes]
    table = connection.ops.quote_name(Asset._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET current_price = tick.price, quote_time = now(), "  # noqa: S608  (our table's quoted name)
            "last_updated = now(), stale_reason = '' "
            "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::numeric[]) AS price) AS tick "
            f"WHERE {table}.id = tick.id",
            [ids, prices],
        )


# The index the set queries read a threshold range from (proposed for apps/alerts: until a
# migration adds it, the bench adds it to its own database and says so).
LEVEL_INDEX = "alert_live_by_asset_level"


def level_index_set(database_url: str, *, present: bool) -> str:
    """Make the bench database have (or lack) the level index; say what was done."""
    table = sql.Identifier(Alert._meta.db_table)
    name = sql.Identifier(LEVEL_INDEX)
    with psycopg.connect(database_url, autocommit=True) as pg:
        found = pg.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = %s", [LEVEL_INDEX]
        ).fetchone()
        if present and not found:
            pg.execute(
                sql.SQL(
                    "CREATE INDEX {} ON {} (asset_id, state, condition, threshold) WHERE NOT paused"
                ).format(name, table)
            )
            pg.execute(sql.SQL("ANALYZE {}").format(table))
            return f"{LEVEL_INDEX}: not in the migrations, created for this run"
        if not present and found:
            pg.execute(sql.SQL("DROP INDEX {}").format(name))
            return f"{LEVEL_INDEX}: dropped for this run (--without-level-index)"
    return f"{LEVEL_INDEX}: {'present' if found else 'absent'}"
