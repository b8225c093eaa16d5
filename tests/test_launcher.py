"""The in-pane launcher records the agent's true exit code, whatever ends it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

LAUNCHER = Path(__file__).resolve().parents[1] / "jarvis_tui" / "engine" / "launcher.py"


def launch(tmp_path: Path, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    exit_file = tmp_path / "exit.json"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"argv": argv, "cwd": str(tmp_path), "env": {"MARK": "x"}, "exit_file": str(exit_file)}))
    # its own session and process group, as a tmux pane's first process has
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), str(spec)], stdout=subprocess.PIPE, start_new_session=True)
    return proc, exit_file


def started(path: Path) -> None:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)


def test_exit_code_and_environment_pass_through(tmp_path):
    proc, exit_file = launch(
        tmp_path, [sys.executable, "-c", "import os, sys; sys.exit(7 if os.environ['MARK'] == 'x' else 1)"]
    )
    assert proc.wait(timeout=20) == 7
    assert json.loads(exit_file.read_text())["exit_code"] == 7
    assert b"agent exited with code 7" in proc.stdout.read()


def test_a_signal_to_the_pane_reaches_the_agent_and_is_recorded_the_shell_way(tmp_path):
    ready = tmp_path / "ready"
    code = f"import pathlib, time; pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
    proc, exit_file = launch(tmp_path, [sys.executable, "-c", code])
    started(ready)
    os.killpg(proc.pid, signal.SIGTERM)  # a TERM to the whole group: the agent's death is recorded
    assert proc.wait(timeout=20) == 143
    assert json.loads(exit_file.read_text())["exit_code"] == 143


def test_a_killed_tmux_server_takes_even_a_silent_agent_with_it(jarvis_env):
    """Regression: the waiter once caught HUP, so a hung-up pane left its agent running, with
    no terminal: an orphan. (An agent that prints dies of the write error anyway; a silent one
    only of the hangup.)"""
    from jarvis_tui.engine.models import FAILED, WORKING

    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("quiet #silent #hang", agent="demo").id, WORKING)
    deadline = time.monotonic() + 20
    while True:  # working as soon as its pane exists: wait for the agent itself to be running
        tree = [psutil.Process(agent.pid), *psutil.Process(agent.pid).children(recursive=True)]
        if any("demo_agent" in " ".join(p.cmdline()) for p in tree):
            break
        assert time.monotonic() < deadline, "the demo agent never started"
        time.sleep(0.05)
    jarvis_env.tmux.kill_server()
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    lost = jarvis_env.wait_status(sup, agent.id, FAILED)
    assert "vanished" in (lost.status_reason or "")


def test_no_python_stays_alive_and_the_agent_sees_ordinary_signals(tmp_path):
    ready = tmp_path / "ready"
    code = (
        "import pathlib, signal, sys, time\n"
        "pathlib.Path('handlers').write_text(repr((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))))\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    sys.exit(5)\n"
    )
    proc, exit_file = launch(tmp_path, [sys.executable, "-c", code])
    started(ready)
    waiter = psutil.Process(proc.pid)
    assert Path(waiter.exe()).name in ("dash", "sh", "bash")  # the launcher's Python is gone
    assert "default_int_handler" in (tmp_path / "handlers").read_text()  # not the waiter's traps
    os.killpg(proc.pid, signal.SIGINT)  # ctrl-c typed into the pane: the agent's to handle, once
    assert proc.wait(timeout=20) == 5
    assert json.loads(exit_file.read_text())["exit_code"] == 5


def test_hostile_arguments_reach_the_agent_byte_for_byte(tmp_path):
    hostile = ["$(touch pwned)", "`id`", "a;b", "-leading", "two\nlines", "'quoted' \"double\"", "*", "$HOME", ""]
    code = "import json, sys; open('argv.json', 'w').write(json.dumps(sys.argv[1:]))"
    proc, _ = launch(tmp_path, [sys.executable, "-c", code, *hostile])
    assert proc.wait(timeout=20) == 0
    assert json.loads((tmp_path / "argv.json").read_text()) == hostile
    assert not (tmp_path / "pwned").exists()


def test_a_missing_program_is_127_with_a_reason(tmp_path):
    proc, exit_file = launch(tmp_path, ["no-such-program-anywhere", "arg"])
    assert proc.wait(timeout=20) == 127
    record = json.loads(exit_file.read_text())
    assert record["exit_code"] == 127 and "no-such-program-anywhere" in record["note"]
