"""Boot Django for a benchmark: its own PostgreSQL database, its own Redis key prefix."""

from __future__ import annotations

import os
import secrets

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def database_ensure(database_url: str) -> bool:
    """Create the database named in the URL unless it exists; True when it was created."""
    name = str(conninfo_to_dict(database_url).get("dbname", ""))
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to use {name!r}: give a dedicated database in the URL")
    admin = make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if found:
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def django_boot(*, database_url: str, redis_url: str, redis_prefix: str) -> None:
    """Point the settings at the bench's database and Redis prefix, start Django, migrate."""
    created = database_ensure(database_url)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",  # DEBUG keeps every query's SQL: not what production pays
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": redis_prefix,
            "PRICE_SOURCES": "simulated",
        }
    )
    # A throwaway key, so the dev profile does not write its key file for a benchmark.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    where = conninfo_to_dict(database_url).get("dbname")
    print(f"database {where}: {'created and ' if created else ''}migrated")
