"""The project server's data: a dedicated database, migrated, with 500 priced assets.

Run as its own process (`python -m bench.fanout.prepare`) with the servers' environment,
so the orchestrator never imports Django settings itself. Snapshots are stored as the
pipeline stores them, so a subscribe finds its snapshot in Redis as in production.
"""

from __future__ import annotations

import os
import random
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.fanout.common import FILLER_SYMBOLS, all_symbols


def database_ensure(url: str) -> bool:
    """Create the database named in the URL unless it exists; True when created."""
    name = str(conninfo_to_dict(url).get("dbname", ""))
    if name in {"", "postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to use database {name!r}: name a dedicated one")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def main() -> None:
    created = database_ensure(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from apps.market.models import Asset
    from apps.market.updates import asset_frames_build
    from apps.streams.snapshots import snapshots_store

    call_command("migrate", verbosity=0)
    now = timezone.now()
    rng = random.Random(7)
    assets = []
    symbols = all_symbols() + FILLER_SYMBOLS
    for symbol in symbols:
        price = Decimal(rng.randint(1_000, 90_000)) / 100
        assets.append(
            Asset(
                symbol=symbol,
                name=f"Bench {symbol}",
                current_price=price,
                previous_close=price - Decimal("0.50"),
                day_high=price + 1,
                day_low=price - 1,
                volume=1_000_000,
                quote_time=now,
                last_updated=now,
                source="simulated",
                is_active=True,
            )
        )
    Asset.objects.bulk_create(
        assets,
        update_conflicts=True,
        unique_fields=["symbol"],
        update_fields=[
            "current_price",
            "previous_close",
            "day_high",
            "day_low",
            "volume",
            "quote_time",
            "last_updated",
            "source",
            "is_active",
        ],
    )
    saved = list(Asset.objects.filter(symbol__in=symbols))
    snapshots_store(asset_frames_build(saved))
    state = "created, " if created else ""
    print(f"database {state}migrated; {len(saved)} assets and their snapshots stored", flush=True)


if __name__ == "__main__":
    main()
