"""jarvis doctor: it finds what the registry does not know about; --fix ends or preserves it."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
from conftest import git

from jarvis_tui.engine.models import DONE


def checks(jarvis_env, *flags: str) -> dict[str, dict]:
    proc = jarvis_env.cli("doctor", "--json", *flags)
    return {c["name"]: c for c in json.loads(proc.stdout)}


def test_doctor_finds_orphans_and_fix_ends_or_preserves_them(jarvis_env):
    sup = jarvis_env.sup()
    # an agent that ended but left a setsid daemon behind
    ended = sup.spawn("leaves a daemon #steps=1 #daemon", agent="demo")
    jarvis_env.wait_status(sup, ended.id, DONE)
    # a session of an agent the registry never heard of, running a tagged process
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    jarvis_env.tmux.start_session(
        "jarvis-0badf0",
        jarvis_env.root,
        sleeper,
        jarvis_env.root / "orphan.log",
        env={"JARVIS_AGENT_ID": "0badf0", "JARVIS_HOME": str(jarvis_env.state_dir)},
    )
    # a worktree nobody refers to, with work in it
    stray = jarvis_env.state_dir / "worktrees" / "stray"
    git(jarvis_env.repo, "worktree", "add", "-q", "-b", "stray-branch", str(stray))
    (stray / "precious.txt").write_text("do not lose me\n")

    before = checks(jarvis_env)
    assert before["orphan sessions"]["detail"] == "jarvis-0badf0"
    assert str(stray) in before["orphan worktrees"]["detail"]
    assert f"({ended.id})" in before["orphan processes"]["detail"]
    assert jarvis_env.cli("doctor").returncode == 0  # warnings, not failures; and nothing changed
    assert "jarvis-0badf0" in jarvis_env.tmux.sessions() and stray.exists()

    fixed = checks(jarvis_env, "--fix")
    done = "\n".join(fixed["fix"]["hints"])
    assert "ended orphan session jarvis-0badf0" in done
    assert f"left by agent {ended.id}" in done
    assert f"removed orphan worktree {stray} after preserving its files at refs/jarvis/orphan/stray" in done
    assert "jarvis-0badf0" not in jarvis_env.tmux.sessions() and not stray.exists()
    assert git(jarvis_env.repo, "show", "refs/jarvis/orphan/stray:precious.txt") == "do not lose me"
    deadline = time.monotonic() + 10
    while any(p.environ().get("JARVIS_AGENT_ID") in ("0badf0", ended.id) for p in _procs()):
        assert time.monotonic() < deadline, "tagged processes survived doctor --fix"
        time.sleep(0.1)
    after = checks(jarvis_env)
    assert after["orphans"]["level"] == "ok"


def test_doctor_leaves_a_folder_that_is_not_a_worktree_alone(jarvis_env):
    jarvis_env.sup()
    folder = jarvis_env.state_dir / "worktrees" / "plain"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine\n")
    fixed = checks(jarvis_env, "--fix")
    assert f"left {folder} in place" in "\n".join(fixed["fix"]["hints"])
    assert (folder / "notes.txt").read_text() == "mine\n"


def _procs():
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            proc.environ()
        except psutil.Error:
            continue
        yield proc


def test_doctor_without_a_registry_points_at_adopt(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("runs #hang", agent="demo")
    sup.registry.close()
    for name in ("registry.db", "registry.db-wal", "registry.db-shm"):
        (jarvis_env.state_dir / "sessions" / name).unlink(missing_ok=True)
    report = checks(jarvis_env)
    assert report["registry"]["level"] == "fail" and report["registry"]["hints"] == ["jarvis doctor --adopt"]
    assert not Path(jarvis_env.state_dir / "sessions" / "registry.db").exists()
    jarvis_env.cli("doctor", "--adopt", check=True)
    jarvis_env.cli("fire", agent.id, "--reason", "dumb", check=True)
