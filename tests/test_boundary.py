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


LAZY = """
import importlib, sys
for name in {modules!r}:
    importlib.import_module(name)
loaded = sorted(m for m in {absent!r} if m in sys.modules)
assert not loaded, f"imported before they are needed: {{loaded}}"
print("ok")
"""


def _imports_nothing_of(modules: list[str], absent: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LAZY.format(modules=modules, absent=absent)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_a_spawn_imports_only_what_it_runs():
    """Every CLI spawn pays its imports before git and tmux start (the benchmark times it against
    raw git + tmux): no psutil (the machine's readings and process start times come from /proc),
    no transcripts or pricing, no routing statistics unless --agent auto ranks, no other
    operation's module, and none of the standard library's slower imports it has no use for
    (the log's rotation, the host name, claim tokens, key suggestions, TOML writing)."""
    _imports_nothing_of(
        [
            "jarvis_tui.cli",
            "jarvis_tui.cli.agents",
            "jarvis_tui.engine.spawn",
            "jarvis_tui.engine.dispatch",
            "jarvis_tui.engine.launch",
            "jarvis_tui.engine.headless",
        ],
        [
            "logging.handlers",
            "socket",
            "uuid",
            "difflib",
            "tomli_w",
            "psutil",
            "statistics",
            "jarvis_tui.engine.transcripts",
            "jarvis_tui.engine.usage",
            "jarvis_tui.engine.pricing",
            "jarvis_tui.engine.routing",
            "jarvis_tui.engine.metrics",
            "jarvis_tui.engine.stop",
            "jarvis_tui.engine.retry",
            "jarvis_tui.engine.cleanup",
            "jarvis_tui.engine.reconcile",
            "jarvis_tui.engine.loop",
        ],
    )


def test_the_dashboard_paints_before_it_imports_the_loop():
    """The first paint shows the registry's rows; the engine loop and what it drives (overseer,
    usage, transcripts, checks) are imported by the first tick, in its worker thread."""
    _imports_nothing_of(
        ["jarvis_tui.cli", "jarvis_tui.tui.run"],
        [
            "jarvis_tui.engine.loop",
            "jarvis_tui.engine.overseer",
            "jarvis_tui.engine.usage",
            "jarvis_tui.engine.transcripts",
            "jarvis_tui.engine.checks",
            "jarvis_tui.engine.dispatch",
            "jarvis_tui.engine.launch",
            "jarvis_tui.engine.git.review",
        ],
    )


def test_every_merge_preview_has_its_symbol():
    """The verdicts name preview statuses by their words, not importing the review machinery."""
    from jarvis_tui.engine.git.review import PreviewStatus
    from jarvis_tui.tui.verdicts import PREVIEW

    assert set(PREVIEW) == {status.value for status in PreviewStatus}
    assert all(status in PREVIEW for status in PreviewStatus)  # a StrEnum finds its word
