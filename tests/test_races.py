"""Races between processes on one agent, with real tmux, git and SQLite (issues 7 and 8).

Each ends in one consistent state: no session, process or worktree the registry does not
know about (the fixture's leak check), no work lost, no task with two live attempts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import git

from jarvis_tui.engine.models import DONE, FAILED, FIRED, QUEUED, STARTING, WAITING, WORKING


def poll(predicate, *, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def only_agent(sup):
    agents = sup.registry.agents(include_removed=True)
    return agents[0] if len(agents) == 1 else None


def test_fire_during_a_slow_start_ends_fired_with_nothing_left_running(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    sup = jarvis_env.sup()
    with jarvis_env.start_gate() as gate:
        spawn = jarvis_env.cli_bg("spawn", "--json", "slow repo #hang")
        gate.wait_entered()  # inside `git worktree add`
        agent = poll(lambda: only_agent(sup), what="the starting agent")
        assert agent.status == STARTING and agent.claim_op == "start"
        fire = jarvis_env.cli_bg("fire", agent.id, "--reason", "derailed", "--note", "took too long")
        poll(lambda: sup.registry.get(agent.id).stop_request, what="the stop request")
        gate.open()
        _fire_out, fire_err = fire.communicate(timeout=60)
        spawn_out, spawn_err = spawn.communicate(timeout=60)
    assert fire.returncode == 0, fire_err
    assert spawn.returncode == 0, spawn_err
    fired = sup.registry.get(agent.id)
    assert fired.status == FIRED and fired.claim is None
    assert [(f.reason, f.note) for f in fired.fires] == [("derailed", "took too long")]
    assert json.loads(spawn_out)["status"] == FIRED  # the spawn tells what became of it
    assert fired.tmux_session not in jarvis_env.tmux.sessions()
    assert not (jarvis_env.state_dir / "worktrees" / agent.id).exists()
    assert fired.worktree is None
    kinds = [e["data"].get("event") for e in sup.registry.events(attempt_id=agent.id, kinds=("status",))]
    assert kinds == ["admit", "fire"]  # never recorded as working


def test_rm_and_retry_during_a_start_are_refused_and_the_start_completes(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    sup = jarvis_env.sup()
    with jarvis_env.start_gate() as gate:
        spawn = jarvis_env.cli_bg("spawn", "--json", "slow #steps=1")
        gate.wait_entered()
        agent = poll(lambda: only_agent(sup), what="the starting agent")
        rm = jarvis_env.cli("rm", agent.id)
        assert rm.returncode == 1 and "is starting; fire it first" in rm.stderr
        retry = jarvis_env.cli("retry", agent.id)
        assert retry.returncode == 1 and "still starting" in retry.stderr
        gate.open()
        spawn.communicate(timeout=60)
    assert spawn.returncode == 0
    done = jarvis_env.wait_status(sup, agent.id, DONE, FAILED)
    assert done.status == DONE and len(sup.registry.agents(include_removed=True)) == 1


def test_two_processes_firing_one_agent_record_one_fire(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("obstinate #hang #stubborn #dirty", agent="demo")
    worktree = Path(agent.worktree)
    jarvis_env.wait_for(sup, agent.id, lambda a: (worktree / "untracked_work.txt").exists(), what="its work")
    firing = [jarvis_env.cli_bg("fire", agent.id, "--reason", r) for r in ("dumb", "derailed")]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in firing]
    assert sorted(code for code, _ in results) == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "already being fired" in loser or "already fired" in loser
    fired = sup.registry.get(agent.id)
    assert fired.status == FIRED and len(fired.fires) == 1
    assert git(jarvis_env.repo, "show", f"{fired.fires[0].ref}:untracked_work.txt") == "work in progress"


def test_retry_while_the_last_attempt_is_being_fired_waits_its_turn(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("ignores SIGTERM #hang #stubborn", agent="demo")
    jarvis_env.wait_status(sup, agent.id, WORKING)
    fire = jarvis_env.cli_bg("fire", agent.id, "--reason", "obstinate")
    poll(lambda: sup.registry.get(agent.id).claim_op == "fire", what="the fire's claim")
    early = jarvis_env.cli("retry", agent.id)  # stubborn: the fire is still in its kill grace
    assert early.returncode == 1 and ("still working" in early.stderr or "being fired" in early.stderr)
    assert fire.wait(timeout=60) == 0
    again = json.loads(jarvis_env.cli("retry", agent.id, "--json", check=True).stdout)
    assert again["attempt"] == 2
    attempts = sup.registry.attempts_of(agent.task_id)
    assert next((a.attempt, a.status) for a in attempts) == (1, FIRED) and len(attempts) == 2
    jarvis_env.cli("fire", again["id"], "--reason", "dumb", check=True)


def test_ten_concurrent_rm_preserve_the_work_once(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("leave work #steps=1 #dirty", agent="demo")
    jarvis_env.wait_status(sup, agent.id, DONE)
    procs = [jarvis_env.cli_bg("rm", agent.id) for _ in range(10)]
    codes = [p.wait(timeout=60) for p in procs]
    errors = [p.stderr.read() for p in procs]
    assert codes.count(0) == 1, (codes, errors)
    assert all("already being removed" in e or "was removed" in e for c, e in zip(codes, errors, strict=False) if c)
    removed = sup.registry.get(agent.id)
    assert removed.removed and removed.preserved_ref == f"refs/jarvis/kept/{agent.id}"
    ref = removed.preserved_ref
    assert git(jarvis_env.repo, "show", f"{ref}:untracked_work.txt") == "work in progress"
    assert git(jarvis_env.repo, "show", f"{ref}:notes/scratch.md") == "committed draft\nuncommitted edit"
    assert git(jarvis_env.repo, "rev-list", "--count", ref) == str(
        int(git(jarvis_env.repo, "rev-list", "--count", agent.branch)) + 1
    )
    assert len(sup.registry.events(attempt_id=agent.id, kinds=("removed",))) == 1


def test_concurrent_retries_make_one_attempt_from_the_right_files(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("fail with work #steps=60 #dirty #exit=3", agent="demo")  # ~3 s each
    jarvis_env.wait_status(sup, agent.id, FAILED)
    procs = [jarvis_env.cli_bg("retry", agent.id, "--json") for _ in range(5)]
    codes = [p.wait(timeout=60) for p in procs]
    outs = [p.stdout.read() for p in procs]
    assert codes.count(0) == 1, codes
    new = json.loads(outs[codes.index(0)])
    attempts = sup.registry.attempts_of(agent.task_id)
    assert [a.attempt for a in attempts] == [1, 2]
    worktree = Path(new["worktree"])
    assert (worktree / "untracked_work.txt").read_text() == "work in progress\n"
    assert (worktree / "notes" / "scratch.md").read_text() == "committed draft\nuncommitted edit\n"
    # and a retry while that attempt lives is refused, saying why
    twice = jarvis_env.cli("retry", agent.id)
    assert twice.returncode == 1 and f"already has a live attempt {new['id']}" in twice.stderr
    jarvis_env.wait_status(sup, new["id"], FAILED)


def test_a_new_spawn_never_jumps_ahead_of_equal_or_higher_priorities(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")  # no loop: nothing but spawn itself may start it
    jarvis_env.write_config(max_agents=1)
    sup = jarvis_env.sup()
    holder = sup.spawn("hold the slot #steps=1 #ask", agent="demo")
    highs = [sup.spawn(f"high {i} #steps=1", agent="demo", priority="high") for i in range(2)]
    assert [h.status for h in highs] == [QUEUED, QUEUED]
    jarvis_env.wait_status(sup, holder.id, WAITING)
    sup.send(holder.id, "y")
    jarvis_env.wait_status(sup, holder.id, DONE)
    low = json.loads(jarvis_env.cli("spawn", "--json", "-p", "low", "low #steps=1", check=True).stdout)
    assert low["status"] == QUEUED and low["queue"]["kind"] == "order"
    assert low["queue_reason"] == "behind 2 queued agents of equal or higher priority"
    started = sup.dispatch()
    assert [a.id for a in started] == [highs[0].id]  # dispatch picks in order

    def drained() -> bool:
        sup.reconcile()
        sup.dispatch()
        return not sup.registry.agents(statuses={QUEUED, STARTING, WORKING})

    poll(drained, timeout=60, what="the queue to drain")
    order = sorted(sup.registry.agents(), key=lambda a: a.started_at)
    assert [a.id for a in order] == [holder.id, highs[0].id, highs[1].id, low["id"]]


def test_a_registry_being_created_by_another_process_is_waited_for(tmp_path):
    """Two first commands at once (found as a 1-in-4 failure of two concurrent spawns): one
    creates the file and holds it while it writes the schema; the other must wait for it,
    not fail with "locked". (Turning WAL on upgrades a lock, which SQLite refuses at once.)"""
    import sqlite3
    import threading

    from jarvis_tui.engine.registry import Registry

    path = tmp_path / "registry.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # fresh: not WAL yet
    first.execute("BEGIN IMMEDIATE")
    first.execute("CREATE TABLE being_created (x)")
    release = threading.Timer(0.5, lambda: first.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        registry = Registry(path, timeout=10)
        assert time.monotonic() - started >= 0.4  # it waited for the other, then went on
        assert registry.agents() == []
        assert str(registry.conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
        registry.close()
    finally:
        release.join()
        first.close()
