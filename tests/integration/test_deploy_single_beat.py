"""The systemd units run exactly one Celery beat: the guide's price-feed.service.

`manage.py start_price_feed` runs a worker with beat embedded, so a separate beat unit would
be a second beat and every tick would be queued twice. Read as text, nothing started.
"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = ROOT / "deploy" / "systemd"
START_PRICE_FEED = ROOT / "apps" / "market" / "management" / "commands" / "start_price_feed.py"
DATABASE_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.fixture(autouse=True, scope="session")
def redis_is_up() -> None:
    """Overrides the suite-wide Redis check: these tests only read files."""


@pytest.fixture(autouse=True)
def redis_state_isolated() -> None:
    """Overrides the suite-wide Redis cleanup: these tests write nothing there."""


def exec_start(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(unit.read_text())
    return shlex.split(parser["Service"]["ExecStart"])


def runs_beat(command: list[str]) -> bool:
    """A `celery beat`, a worker with `--beat`/`-B`, or start_price_feed (beat embedded)."""
    celery_beat = "celery" in command[0] and "beat" in command
    return celery_beat or "--beat" in command or "-B" in command or "start_price_feed" in command


def comments(unit: Path) -> str:
    lines = unit.read_text().splitlines()
    return " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))


def test_start_price_feed_embeds_beat_with_the_database_scheduler() -> None:
    source = START_PRICE_FEED.read_text()
    assert '"--beat"' in source
    assert f'"--scheduler", "{DATABASE_SCHEDULER}"' in source


def test_exactly_one_systemd_unit_runs_a_beat_and_it_is_the_price_feed() -> None:
    units = sorted(SYSTEMD_DIR.glob("*.service"))
    assert units

    beats = [unit.name for unit in units if runs_beat(exec_start(unit))]

    assert beats == ["price-feed.service"]


def test_the_unit_files_say_which_unit_is_the_one_beat() -> None:
    price_feed = comments(SYSTEMD_DIR / "price-feed.service")
    worker = comments(SYSTEMD_DIR / "portfolio-worker.service")
    assert "the system's one Celery beat" in price_feed
    assert "ONE host only" in price_feed
    assert "never a beat" in worker
    assert "price-feed.service" in worker
