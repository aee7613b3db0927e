"""Which database the test suite uses: DATABASE_URL, else a local PostgreSQL, else SQLite."""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/portfolio"


@dataclass(frozen=True)
class DatabaseChoice:
    url: str | None  # None: the settings' SQLite default
    description: str


def postgres_answers(url: str) -> str | None:
    """None when PostgreSQL accepts the URL's login, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    # Probe the maintenance database: the project database may not exist yet.
    probe = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(probe, connect_timeout=2):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def database_choose(
    configured_url: str | None, local_postgres_url: str = LOCAL_POSTGRES_URL
) -> DatabaseChoice:
    """DATABASE_URL when set, else PostgreSQL when it accepts us, else SQLite with the reason."""
    if configured_url:
        return DatabaseChoice(configured_url, f"DATABASE_URL ({configured_url.split('://')[0]})")
    problem = postgres_answers(local_postgres_url)
    if problem is None:
        return DatabaseChoice(local_postgres_url, "PostgreSQL on 127.0.0.1:5432")
    return DatabaseChoice(None, f"SQLite (no PostgreSQL usable on 127.0.0.1:5432: {problem})")
