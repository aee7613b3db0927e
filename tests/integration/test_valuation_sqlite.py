"""The valuation tests on SQLite, from a PostgreSQL run: `make run` keeps money in SQLite,
which stores decimals as REAL, so its figures must match the same hand computations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import ROOT

VALUATION_TESTS = "tests/integration/test_valuation.py"


def test_the_valuation_tests_pass_on_sqlite(tmp_path: Path) -> None:
    if connection.vendor == "sqlite":
        pytest.skip(f"this run is on SQLite: {VALUATION_TESTS} runs on it as it is")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", VALUATION_TESTS],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "REDIS_KEY_PREFIX": f"{settings.REDIS_KEY_PREFIX}sqlite",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
