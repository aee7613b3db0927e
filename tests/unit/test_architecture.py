"""The architecture is checked, not hoped for: the import contracts in pyproject.toml hold, and
a forbidden import fails them naming the offending line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_socket_server_importing_the_tasks_breaks_a_contract(tmp_path: Path) -> None:
    for folder in ("apps", "workers", "config"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    consumer = tmp_path / "apps" / "realtime" / "consumers.py"
    consumer.write_text(consumer.read_text() + "\nfrom workers.tasks import revalue_portfolio\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1
    assert "BROKEN" in result.stdout
    assert "apps.realtime.consumers -> workers.tasks" in result.stdout
