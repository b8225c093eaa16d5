"""The engine's own log (``sessions/jarvis.log``): every line with its process, rotated at a
size with a fixed number of old files, and never an error for the command that logs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from jarvis_tui.engine import journal

log = logging.getLogger("jarvis.test")


@pytest.fixture(autouse=True)
def _closed_after():
    yield
    journal.close()


def test_lines_carry_the_process_and_the_module(tmp_path: Path) -> None:
    path = journal.configure(tmp_path)
    assert path == tmp_path / "jarvis.log" and not path.exists()  # opened at the first line only
    log.info("spawned %s", "a1b2c3")
    journal.close()
    line = path.read_text(encoding="utf-8").strip()
    assert line.endswith(f" {os.getpid()} jarvis.test INFO spawned a1b2c3"), line


def test_a_full_log_becomes_the_first_old_one_and_the_oldest_goes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(journal, "MAX_BYTES", 2000)
    path = journal.configure(tmp_path)
    assert path is not None
    for n in range(300):
        log.info("line %04d %s", n, "x" * 60)
    journal.close()
    files = [path, *(path.with_name(f"jarvis.log.{n}") for n in range(1, journal.BACKUPS + 1))]
    assert all(f.exists() for f in files) and not path.with_name(f"jarvis.log.{journal.BACKUPS + 1}").exists()
    assert all(0 < f.stat().st_size <= 2000 for f in files), [f.stat().st_size for f in files]
    kept = [int(line.split("line ")[1][:4]) for f in reversed(files) for line in f.read_text().splitlines()]
    assert kept == list(range(kept[0], 300)) and kept[0] > 0  # oldest first, nothing missing, the start gone


def test_an_unwritable_log_never_breaks_the_command(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "sessions"
    blocker.write_text("a file where the folder should be")
    journal.configure(blocker)
    log.warning("this goes nowhere")  # neither raises nor prints "--- Logging error ---"
    assert capsys.readouterr().err == ""
