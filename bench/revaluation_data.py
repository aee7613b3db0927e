"""The revaluation bench's data: users, assets with quotes, portfolios and positions, by COPY.

Deterministic for a shape (seeded), loaded in one transaction, and reused when the database
already holds the same shape: the shape is recorded as a comment on the positions table.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from psycopg import sql

from apps.market.models import Asset
from apps.portfolios.models import Portfolio, Position

FX_SYMBOL = "EURUSD=X"
EUR_EVERY = 25  # one asset in 25 trades in EUR (a ".DE" listing)
PENNY_EVERY = 50  # one in 50 is priced below 1, with 8 decimals
STALE_EVERY = 170  # a few assets carry a stale flag, as after a failed refresh
SHAPE_VERSION = 1
CENTS_8 = Decimal("1e-8")


@dataclass(frozen=True)
class Shape:
    portfolios: int
    positions: int  # per portfolio
    symbols: int  # held assets; the FX pair comes on top
    users: int
    seed: int = 20_240_101

    @property
    def label(self) -> str:
        return (
            f"bench shape v{SHAPE_VERSION}: portfolios={self.portfolios} "
            f"positions={self.positions} symbols={self.symbols} users={self.users} "
            f"seed={self.seed}"
        )


@dataclass(frozen=True)
class AssetPlan:
    id: int
    symbol: str
    currency: str
    price: Decimal
    previous_close: Decimal
    stale: bool


def held_symbols(shape: Shape) -> list[str]:
    return [asset.symbol for asset in assets_plan(shape)]


def assets_plan(shape: Shape) -> list[AssetPlan]:
    """The held assets (ids 1..symbols), USD except one in EUR_EVERY."""
    rng = random.Random(shape.seed)
    return [_asset_plan(index, rng) for index in range(1, shape.symbols + 1)]


def _asset_plan(index: int, rng: random.Random) -> AssetPlan:
    euro = index % EUR_EVERY == 0
    if index % PENNY_EVERY == 1:
        price = Decimal(rng.randint(1_000_000, 99_999_999)).scaleb(-8)
    else:
        price = Decimal(rng.randint(50_000, 5_000_000)).scaleb(-4)
    move = Decimal(str(round(rng.gauss(0, 0.02), 4)))
    previous = max((price * (1 - move)).quantize(price), (price / 2).quantize(price))
    return AssetPlan(
        id=index,
        symbol=f"B{index:04d}.DE" if euro else f"B{index:04d}",
        currency="EUR" if euro else "USD",
        price=price,
        previous_close=previous,
        stale=index % STALE_EVERY == 0,
    )


def data_ensure(database_url: str, shape: Shape) -> None:
    """Load the shape unless the database already holds it; say which."""
    if _shape_loaded(database_url, shape):
        print(f"data: reusing the loaded data ({shape.label})")
        return
    started = time.perf_counter()
    _load(database_url, shape)
    loaded = time.perf_counter() - started
    print(f"data: loaded {shape.label} in {loaded:.1f} s (COPY, one transaction, then ANALYZE)")


def _shape_loaded(database_url: str, shape: Shape) -> bool:
    table = Position._meta.db_table
    with psycopg.connect(database_url) as connection:
        comment = connection.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", [table]
        ).fetchone()
        if not comment or comment[0] != shape.label:
            return False
        count = connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
    return count is not None and count[0] == shape.portfolios * shape.positions


def _tables() -> list[str]:
    models = (Position, Portfolio, Asset, get_user_model())
    return [model._meta.db_table for model in models]


def _load(database_url: str, shape: Shape) -> None:
    now = datetime.now(UTC)
    assets = assets_plan(shape)
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        names = sql.SQL(", ").join(map(sql.Identifier, _tables()))
        cursor.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))
        table_copy(cursor, get_user_model()._meta.db_table, USER_COLUMNS, _users(shape, now))
        table_copy(cursor, Asset._meta.db_table, ASSET_COLUMNS, _assets(assets, now))
        table_copy(cursor, Portfolio._meta.db_table, PORTFOLIO_COLUMNS, _portfolios(shape, now))
        positions = _positions(shape, assets, now)
        table_copy(cursor, Position._meta.db_table, POSITION_COLUMNS, positions)
        for table in _tables():
            cursor.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))"
                ).format(sql.Literal(table), sql.Identifier(table))
            )
        cursor.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(Position._meta.db_table), sql.Literal(shape.label)
            )
        )
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(sql.SQL("VACUUM ANALYZE {}").format(names))


def table_copy(
    cursor: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


USER_COLUMNS = [
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
    "email", "is_staff", "is_active", "date_joined",
]  # fmt: skip


def _users(shape: Shape, now: datetime) -> Iterator[Sequence[object]]:
    for index in range(1, shape.users + 1):
        # "!" starts an unusable password: these users can never log in.
        yield (index, "!", None, False, f"bench{index}", "", "", "", False, True, now)


ASSET_COLUMNS = [
    "id", "symbol", "name", "exchange", "currency", "asset_type", "current_price",
    "previous_close", "day_high", "day_low", "volume", "quote_time", "last_updated", "source",
    "market_state", "stale_reason", "is_active", "always_refresh",
]  # fmt: skip


def _assets(assets: Sequence[AssetPlan], now: datetime) -> Iterator[Sequence[object]]:
    fx = AssetPlan(len(assets) + 1, FX_SYMBOL, "USD", Decimal("1.0834"), Decimal("1.0812"), False)
    for asset in [*assets, fx]:
        high = max(asset.price, asset.previous_close)
        low = min(asset.price, asset.previous_close)
        kind = "fx" if asset is fx else "stock"
        stale = "bench: marked stale" if asset.stale else ""
        yield (
            asset.id, asset.symbol, f"Bench {asset.symbol}", "BENCH", asset.currency, kind,
            asset.price, asset.previous_close, high, low, 1_000_000, now, now, "bench",
            "open", stale, True, False,
        )  # fmt: skip


PORTFOLIO_COLUMNS = ["id", "owner_id", "name", "base_currency", "created_at"]


def _portfolios(shape: Shape, now: datetime) -> Iterator[Sequence[object]]:
    for index in range(1, shape.portfolios + 1):
        # One in ten is valued in EUR, so the inverse rate is exercised as well.
        currency = "EUR" if index % 10 == 0 else "USD"
        yield (index, (index - 1) % shape.users + 1, f"Portfolio {index}", currency, now)


POSITION_COLUMNS = ["id", "portfolio_id", "asset_id", "quantity", "cost_basis", "updated_at"]


def _positions(
    shape: Shape, assets: Sequence[AssetPlan], now: datetime
) -> Iterator[Sequence[object]]:
    rng = random.Random(shape.seed + 1)
    position_id = 0
    for portfolio_id in range(1, shape.portfolios + 1):
        for asset in rng.sample(assets, shape.positions):
            position_id += 1
            quantity = Decimal(rng.randint(1, 10_000_000)).scaleb(-4)
            paid = quantity * asset.price * Decimal(rng.randint(50, 150)).scaleb(-2)
            yield (position_id, portfolio_id, asset.id, quantity, paid.quantize(CENTS_8), now)
