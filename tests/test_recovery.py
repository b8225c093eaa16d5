"""No lost work, no lost records: the supervisor can die, tmux can die, agents go on or are accounted for."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git

from jarvis_tui.engine.models import FAILED, WORKING
from jarvis_tui.engine.registry import Registry, RegistryError
from jarvis_tui.engine.schema import MIGRATIONS


def test_agents_outlive_the_process_that_spawned_them(jarvis_env):
    # a supervisor in another process spawns, then dies hard (SIGKILL)
    code = (
        "import sys, os; from jarvis_tui.engine.config import load_config; "
        "from jarvis_tui.engine.supervisor import Supervisor; "
        "a = Supervisor(load_config(sys.argv[1])).spawn('survive #hang', agent='demo'); "
        "print(a.id, flush=True); os.kill(os.getpid(), 9)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(jarvis_env.config_path)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    agent_id = proc.stdout.strip()
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, agent_id, WORKING)
    assert agent.tmux_session in jarvis_env.tmux.sessions()
    sup.fire(agent_id, "dumb")


def test_a_killed_tmux_server_fails_agents_but_keeps_their_work(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Work #dirty #hang", agent="demo")
    worktree = Path(agent.worktree)
    jarvis_env.wait_for(sup, agent.id, lambda a: (worktree / "untracked_work.txt").exists(), what="work")
    jarvis_env.tmux.kill_server()
    failed = jarvis_env.wait_status(sup, agent.id, FAILED)
    # the pane records the hang-up (or the agent's own error writing to the closed terminal);
    # if nothing could be recorded, the session "vanished"
    assert any(word in failed.status_reason for word in ("SIGHUP", "vanished", "exited with code")), (
        failed.status_reason
    )
    assert (worktree / "untracked_work.txt").exists()  # nothing deleted
    retried = sup.retry(agent.id)
    # retry first kept the old worktree's files in a ref, then continued from them
    assert sup.get(agent.id).preserved_ref == f"refs/jarvis/kept/{agent.id}"
    assert git(jarvis_env.repo, "show", f"refs/jarvis/kept/{agent.id}:untracked_work.txt") == "work in progress"
    assert (Path(retried.worktree) / "untracked_work.txt").read_text() == "work in progress\n"
    assert failed.status_reason in retried.retry_context
    sup.fire(retried.id, "dumb")


def test_registry_migrates_and_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "registry.db"
    reg = Registry(path)
    assert reg.schema_version == len(MIGRATIONS)
    reg.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    reg.close()
    with pytest.raises(RegistryError, match="newer than this jarvis"):
        Registry(path)


def test_registry_is_wal_and_survives_a_writer_killed_mid_transaction(tmp_path):
    path = tmp_path / "registry.db"
    Registry(path).close()
    code = (
        "import sys, os; from jarvis_tui.engine.registry import Registry; r = Registry(sys.argv[1]); "
        "c = r.conn; c.execute('BEGIN IMMEDIATE'); "
        "c.execute(\"INSERT INTO meta (key, value) VALUES ('half', 'done')\"); os.kill(os.getpid(), 9)"
    )
    writer = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert writer.returncode == -signal.SIGKILL, writer.stderr  # it died mid-transaction, not before
    reg = Registry(path, timeout=5)
    assert reg.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reg.get_meta("half") is None  # the half-done write never landed
    reg.set_meta("after", "crash")  # and the lock is free again
    assert reg.get_meta("after") == "crash"
    assert reg.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_version_1_registry_is_migrated_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "registry.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO tasks (id, title, prompt, priority, profile, created_at) "
        "VALUES ('aaaaaa', 't', 'p', 'low', 'demo', 1.0)"
    )
    conn.execute(
        "INSERT INTO attempts (id, task_id, attempt, profile, status, created_at) "
        "VALUES ('aaaaaa', 'aaaaaa', 1, 'demo', 'done', 1.0)"
    )
    conn.commit()
    conn.close()
    reg = Registry(path)
    assert reg.schema_version == len(MIGRATIONS) >= 2
    agent = reg.get("aaaaaa")  # old rows keep working, new columns default to NULL
    assert agent.status == "done" and agent.claim is None and agent.task_created_at == 1.0
    assert agent.queue is None and agent.waiting_kind is None and agent.stalled is False
