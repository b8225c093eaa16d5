"""The peer benchmark (benchmarks/peers.py) works without pm2 or mprocs and leaves nothing running.

Structure only, never timings: the table and its rows are printed, the peers' columns say
"not installed", no line is lost, and every process, tmux server and folder the run started
(all tagged with its run id) is gone afterwards. Plus the pure pieces the figures rest on:
finding the cursor row on a captured screen, counting a log's lines, and grouping process
trees with the agents left out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from peerbench import procs  # noqa: E402
from peerbench.janitor import RUN_ENV, tmux_dir  # noqa: E402
from peerbench.report import percentile  # noqa: E402
from peerbench.scenarios import count_lines, wait_and_count  # noqa: E402
from peerbench.screen import Rows, styled_lines  # noqa: E402
from peerbench.stacks import split_jarvis  # noqa: E402


def path_without_peers() -> str:
    """PATH minus any folder holding pm2 or mprocs, so the run sees them as absent."""
    keep = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any(os.access(os.path.join(d, name), os.X_OK) for name in ("pm2", "mprocs"))
    ]
    return os.pathsep.join(keep)


@pytest.mark.slow
def test_quick_run_without_peers_prints_the_table_and_leaves_nothing(tmp_path: Path) -> None:
    run_id = f"smoke{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("JARVIS_BENCH_PEERS", "TMUX", "TMUX_PANE")}
    env["PATH"] = path_without_peers()
    assert shutil.which("tmux", path=env["PATH"]) and shutil.which("git", path=env["PATH"])
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "peers.py"),
            "--quick",
            "--only",
            "spawn,lines",
            "--agents",
            "2",
            "--repo-files",
            "300",
            "--run-id",
            run_id,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{proc.stderr[-3000:]}"
    assert "| measure | jarvis | pm2 | mprocs | goal |" in out
    assert "Machine: " in out and "Load average at start: " in out
    spawn = next(line for line in out.splitlines() if line.startswith("| spawn vs raw"))
    assert "x (" in spawn.split("|")[2], spawn  # a ratio was measured, e.g. "1.40x (0.60 s vs 0.43 s ..."
    lines = next(line for line in out.splitlines() if line.startswith("| lines lost"))
    cells = [c.strip() for c in lines.split("|")[1:-1]]
    assert cells[1] == "0; 0", lines  # jarvis lost nothing, flooding or at 2,500 lines/s
    assert cells[2] == cells[3] == "not installed", lines
    assert "| whole stack CPU" not in out  # --only was obeyed

    # Nothing left: no tagged process, no tmux socket, no temporary folder of this run.
    tagged = procs.tagged(RUN_ENV, run_id)
    assert tagged == [], [procs.read_proc(p) for p in tagged]
    assert list(tmux_dir().glob(f"*{run_id}*")) == []
    assert list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"*-{run_id}-*")) == []


@pytest.mark.slow
def test_spawn_on_a_real_repository_works_in_a_clone_and_names_it(tmp_path: Path) -> None:
    original = tmp_path / "realproject"
    original.mkdir()
    for name in ("a.py", "b.py", "docs/c.md"):
        (original / name).parent.mkdir(parents=True, exist_ok=True)
        (original / name).write_text(f"{name}\n")
    git_env = {
        **os.environ,
        **{f"GIT_{w}_{k}": v for w in ("AUTHOR", "COMMITTER") for k, v in (("NAME", "t"), ("EMAIL", "t@t"))},
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "three files"]):
        subprocess.run(["git", "-C", str(original), *args], check=True, env=git_env)
    refs_before = subprocess.run(["git", "-C", str(original), "show-ref"], capture_output=True, text=True).stdout
    env = {k: v for k, v in os.environ.items() if k not in ("JARVIS_BENCH_PEERS", "TMUX", "TMUX_PANE")}
    env["PATH"] = path_without_peers()
    argv = [sys.executable, str(BENCH / "peers.py"), "--quick", "--only", "spawn", "--burst", "0"]
    run_id = f"smoke{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        [*argv, "--spawn-pairs", "1", "--spawn-repo", str(original), "--run-id", run_id],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    spawn = next(line for line in proc.stdout.splitlines() if line.startswith("| spawn vs raw"))
    assert "(realproject, 3 files)" in spawn and "x (" in spawn.split("|")[2], spawn
    # The original got no branch and no worktree: the runs were in a clone.
    assert (
        subprocess.run(["git", "-C", str(original), "show-ref"], capture_output=True, text=True).stdout == refs_before
    )
    worktrees = subprocess.run(["git", "-C", str(original), "worktree", "list"], capture_output=True, text=True).stdout
    assert len(worktrees.splitlines()) == 1, worktrees
    assert list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"*-{run_id}-*")) == []  # the clone is gone too


def test_cursor_row_is_found_by_its_style_across_lines() -> None:
    # tmux's capture-pane -e only emits style changes: row b inherits the background set at the
    # end of row a's line; row a carries the highlight (48;5;32); the log line below names an
    # agent only inside a longer word and must not count as a row.
    capture = (
        "\x1b[48;5;32m a1b2c3  working\x1b[48;5;235m|\n"
        " d4e5f6  working\n"
        "\x1b[48;5;234m 0a0b0c  working\x1b[0m\n"
        "Ta1b2c3 00000001 payload"
    )
    rows = Rows(["a1b2c3", "d4e5f6", "0a0b0c"])
    found = rows.find(capture, escapes=True)
    assert [label for label, _ in found] == ["a1b2c3", "d4e5f6", "0a0b0c"]
    styles = [style for _, style in found]
    assert styles[0] == ((48, 5, 32), False)
    assert styles[1] == ((48, 5, 235), False)
    assert styles[2] == ((48, 5, 234), False)
    assert styled_lines("\x1b[7mX\x1b[27mY")[0] == ("XY", [(None, True), (None, False)])


def test_count_lines_sees_every_numbered_line_and_the_end(tmp_path: Path) -> None:
    log = tmp_path / "log"
    body = "".join(f"Tab {n:08d} payload\r\n" for n in range(10) if n != 4)
    log.write_text("noise\r\n" + body + "Tabc 00000004 other agent\r\n")
    assert count_lines(log, "Tab", 10) == (9, False)
    log.write_text(body + "Tab END 10\r\n")
    assert count_lines(log, "Tab", 10) == (9, True)
    assert count_lines(tmp_path / "missing", "Tab", 10) == (0, False)


def test_a_lost_tail_counts_the_missing_end_line(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    whole.write_text("".join(f"Ta {n:08d} x\n" for n in range(5)) + "Ta END 5\n")
    cut.write_text("".join(f"Tb {n:08d} x\n" for n in range(4)))  # line 4 and END never arrived
    result = wait_and_count({"Ta": whole, "Tb": cut}, 5, budget=0.2, stall=0.2)
    assert result == {"expected": 12, "lost": 2, "agents_missing_lines": 1, "without_end": 1}


def test_groups_leave_the_agents_out_and_split_the_roots() -> None:
    def proc(pid: int, ppid: int, cmd: str) -> procs.Proc:
        return procs.Proc(pid=pid, ppid=ppid, start=pid, cpu=0.0, reaped=0.0, cmd=cmd)

    snap = {
        p.pid: p
        for p in [
            proc(10, 1, "tmux -L term"),
            proc(11, 10, "python -m jarvis_tui --config c"),  # dashboard in the terminal
            proc(12, 11, "git status"),
            proc(20, 1, "tmux -L jb"),
            proc(21, 20, "python -m launcher spec"),
            proc(22, 21, "python talker.py rate=10"),
            proc(23, 22, "sh -c agent child"),
            proc(24, 20, "sh -c cat >> log"),
            proc(25, 24, "cat"),
        ]
    }
    stack = procs.Stack({20: "tmux", 11: "dashboard"}, lambda p: "talker.py" in p.cmd, split_jarvis, {10: "terminal"})
    groups = {pid: group for (pid, _), group in stack.groups(snap).items()}
    assert groups == {
        10: "terminal",
        11: "dashboard",
        12: "dashboard children",
        20: "tmux",
        21: "launchers",
        24: "pipes",
        25: "pipes",
    }
    assert stack.is_extra("terminal") and stack.is_extra("terminal children") and not stack.is_extra("tmux")


def test_percentile_interpolates() -> None:
    assert percentile([10.0], 95) == 10.0
    assert percentile([0.0, 10.0], 50) == 5.0
    assert percentile(list(map(float, range(101))), 95) == 95.0


def test_cpu_of_reaped_children_is_charged_to_their_root_and_agents_are_left_out(tmp_path: Path) -> None:
    # A "dashboard" that, when told, runs a short CPU-burning child (like a git call) and reaps
    # it; and an "agent" child that burns CPU all along and must never be counted.
    go, done = tmp_path / "go", tmp_path / "done"
    script = (
        "import os, subprocess, sys, time\n"
        "agent = subprocess.Popen([sys.executable, '-c', 'while True: pass', 'talker.py'])\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "subprocess.run([sys.executable, '-c', 'import time\\nt = time.process_time()\\n"
        "while time.process_time() - t < 0.3: pass'])\n"
        f"open({str(done)!r}, 'w').close()\n"
        "time.sleep(60)\n"
    )
    root = subprocess.Popen([sys.executable, "-c", script])
    try:

        def run_child(_seconds: float) -> None:
            go.touch()
            while not done.exists():
                time.sleep(0.01)

        stack = procs.Stack({root.pid: "dashboard"}, lambda p: "talker.py" in p.cmd)
        usage = procs.cpu_usage(stack, 0.0, sleep=run_child)
        # The child burnt 0.3 s of CPU and was reaped inside the window: all of it is counted.
        assert usage.parts.get("dashboard children", 0.0) * usage.seconds / 100 >= 0.28, usage
        assert set(usage.parts) <= {"dashboard", "dashboard children"}, usage
        agents = [p.pid for p in psutil.Process(root.pid).children() if "talker.py" in " ".join(p.cmdline())]
        counted = {pid for pid, _ in stack.groups(procs.snapshot())}
        assert len(agents) == 1 and agents[0] not in counted and root.pid in counted
    finally:
        for proc in psutil.Process(root.pid).children(recursive=True):
            proc.kill()
        root.kill()
        root.wait()
