"""The engine and the CLI stand without Textual: only `jarvis tui` / `jarvis demo` import it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jarvis_tui.cli
import jarvis_tui.engine

CHECK = """
import importlib, sys
for name in {modules!r}:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
assert not loaded, f"textual imported by the engine or the CLI: {{loaded[:5]}}"
print("ok", len({modules!r}))
"""


def test_engine_and_cli_import_without_textual():
    modules = [f"jarvis_tui.engine.{m.name}" for m in pkgutil.iter_modules(jarvis_tui.engine.__path__)]
    modules += [
        "jarvis_tui.engine",
        "jarvis_tui.cli",
        "jarvis_tui.format",
        "jarvis_tui.describe",
        "jarvis_tui.tui.demo",
    ]
    modules += [f"jarvis_tui.cli.{m.name}" for m in pkgutil.iter_modules(jarvis_tui.cli.__path__)]
    assert len(modules) > 10
    proc = subprocess.run(
        [sys.executable, "-c", CHECK.format(modules=modules)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")
