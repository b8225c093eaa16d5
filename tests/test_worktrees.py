"""Making an agent's worktree on a real git repository: git writes its files with the
configured number of checkout workers (``[supervisor] checkout_workers``), for a spawn and
for a check's copy alike. Seen from git's own trace, never from a timing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_repo
from git_helpers import commit

from jarvis_tui.engine.git import worktrees

MANY = {f"pkg/f{i:03d}.txt": f"{i}\n" for i in range(150)}  # over git's threshold for workers (100)


def workers_started(trace: Path) -> int:
    """``git checkout--worker`` processes git's trace shows started."""
    text = trace.read_text() if trace.exists() else ""
    return sum(1 for line in text.splitlines() if "run_command:" in line and "checkout--worker" in line)


@pytest.mark.parametrize(("workers", "expected"), [(1, 0), (2, 2)])
def test_add_writes_the_files_with_the_given_workers(tmp_path, monkeypatch, workers, expected):
    repo = make_repo(tmp_path / "repo")
    commit(repo, MANY, "many files")
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    worktrees.add(repo, tmp_path / "wt", "jarvis/x", "HEAD", workers=workers)
    monkeypatch.delenv("GIT_TRACE")
    assert workers_started(trace) == expected
    assert (tmp_path / "wt" / "pkg" / "f149.txt").read_text() == "149\n"
    worktrees.add(repo, tmp_path / "copy", None, "HEAD")  # detached: a check's copy
    assert (tmp_path / "copy" / "pkg" / "f000.txt").read_text() == "0\n"
    worktrees.remove(repo, tmp_path / "wt")
    worktrees.remove(repo, tmp_path / "copy")


def test_a_spawn_uses_the_configured_checkout_workers(jarvis_env, monkeypatch):
    commit(jarvis_env.repo, MANY, "many files")
    text = jarvis_env.config_path.read_text()
    jarvis_env.config_path.write_text(text.replace("kill_grace = 1\n", "kill_grace = 1\ncheckout_workers = 3\n"))
    trace = jarvis_env.root / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    sup = jarvis_env.sup()
    agent = sup.spawn("print and stop", agent="demo")
    monkeypatch.delenv("GIT_TRACE")
    assert workers_started(trace) == 3
    assert (Path(agent.worktree) / "pkg" / "f042.txt").read_text() == "42\n"
    jarvis_env.wait_status(sup, agent.id, "done")
