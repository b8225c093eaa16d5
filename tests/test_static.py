"""Static checks are part of the test run: lint, format, types and the layering contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {
    "ruff lint": [sys.executable, "-m", "ruff", "check", "jarvis_tui", "tests", "benchmarks"],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "jarvis_tui", "tests", "benchmarks"],
    "mypy --strict": [sys.executable, "-m", "mypy"],
    "import-linter": ["lint-imports"],
}


@pytest.mark.parametrize("name", list(TOOLS))
def test_static_check(name):
    argv = TOOLS[name]
    if argv[0] == "lint-imports":
        found = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
        argv = [found]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{name} found problems:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
