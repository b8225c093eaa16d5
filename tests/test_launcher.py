"""The in-pane launcher records the agent's true exit code, whatever ends it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[1] / "jarvis_tui" / "engine" / "launcher.py"


def launch(tmp_path: Path, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    exit_file = tmp_path / "exit.json"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"argv": argv, "cwd": str(tmp_path), "env": {"MARK": "x"},
                                "exit_file": str(exit_file)}))
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), str(spec)], stdout=subprocess.PIPE)
    return proc, exit_file


def test_exit_code_and_environment_pass_through(tmp_path):
    proc, exit_file = launch(tmp_path, [sys.executable, "-c", "import os, sys; sys.exit(7 if os.environ['MARK'] == 'x' else 1)"])
    assert proc.wait(timeout=20) == 7
    assert json.loads(exit_file.read_text())["exit_code"] == 7
    assert b"agent exited with code 7" in proc.stdout.read()


def test_a_signal_is_forwarded_and_recorded_the_shell_way(tmp_path):
    ready = tmp_path / "ready"
    code = f"import pathlib, time; pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
    proc, exit_file = launch(tmp_path, [sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
    assert json.loads(exit_file.read_text())["exit_code"] == 143


def test_a_missing_program_is_127_with_a_reason(tmp_path):
    proc, exit_file = launch(tmp_path, ["no-such-program-anywhere", "arg"])
    assert proc.wait(timeout=20) == 127
    record = json.loads(exit_file.read_text())
    assert record["exit_code"] == 127 and "no-such-program-anywhere" in record["note"]
