"""kill -9 at the worst moments, broken worktrees, and the cleanups that must leave nothing.

Processes are really killed (SIGKILL, via tests/crashing.py at a precise step, or by pid);
recovery is whatever the next jarvis command or engine tick does about it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import psutil
from conftest import git

from jarvis_tui.engine.lease import read_lease
from jarvis_tui.engine.models import DONE, FAILED, FIRED, QUEUED, STARTING, WORKING
from jarvis_tui.engine.paths import ENGINE_SESSION


def poll(predicate, *, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def listed(jarvis_env) -> dict[str, dict]:
    return {a["id"]: a for a in json.loads(jarvis_env.cli("ls", "--all", "--json", check=True).stdout)}


def tagged(agent_id: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("JARVIS_AGENT_ID") == agent_id:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_spawn_killed_before_the_session_exists_frees_its_slot_at_the_next_command(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    jarvis_env.write_config(max_agents=1)
    sup = jarvis_env.sup()
    with jarvis_env.start_gate() as gate:
        spawn = jarvis_env.cli_bg("spawn", "dies half-way #steps=1")
        gate.wait_entered()
        agent = poll(lambda: next(iter(sup.registry.agents()), None), what="the starting agent")
        os.kill(spawn.pid, signal.SIGKILL)  # kill -9 while `git worktree add` runs
        spawn.wait()
        gate.open()  # the orphaned git finishes its worktree, as it would
        poll(lambda: (Path(agent.worktree) / ".git").exists(), what="the orphaned git to finish")
        time.sleep(0.2)
    assert sup.registry.get(agent.id).status == STARTING  # stuck until someone looks
    doctor = json.loads(jarvis_env.cli("doctor", "--json").stdout)
    stuck = next(c for c in doctor if c["name"] == "interrupted operations")
    assert agent.id in stuck["detail"]
    record = listed(jarvis_env)[agent.id]  # any command reconciles: the dead starter is seen at once
    assert record["status"] == FAILED and record["status_reason"].startswith("start interrupted")
    assert record["worktree"] is None and not Path(agent.worktree).exists()
    assert record["claim"] is None
    # the max_agents slot is free again
    nxt = json.loads(jarvis_env.cli("spawn", "--json", "next #steps=1", check=True).stdout)
    assert nxt["status"] == WORKING
    jarvis_env.wait_status(sup, nxt["id"], DONE)


def test_spawn_killed_after_the_session_exists_is_adopted(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    jarvis_env.crash(
        "before", "jarvis_tui.engine.supervisor:Supervisor.transition:launched", "spawn", "runs on #steps=20"
    )
    sup = jarvis_env.sup()
    [agent] = sup.registry.agents()
    assert agent.status == STARTING and agent.tmux_session in jarvis_env.tmux.sessions()
    record = listed(jarvis_env)[agent.id]
    assert record["status"] in (WORKING, DONE)  # adopted, not left starting forever
    done = jarvis_env.wait_status(sup, agent.id, DONE, FAILED)
    assert done.status == DONE and done.exit_code == 0 and done.pid is not None
    reasons = [e["data"].get("reason") for e in sup.registry.events(attempt_id=agent.id, kinds=("status",))]
    assert any("adopted" in (r or "") for r in reasons), reasons


def test_a_fire_killed_half_way_is_finished_with_its_reason(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    sup = jarvis_env.sup()
    agent = sup.spawn("work #hang #dirty", agent="demo")
    jarvis_env.wait_for(
        sup, agent.id, lambda a: (Path(agent.worktree) / "untracked_work.txt").exists(), what="its work"
    )
    jarvis_env.crash(
        "after",
        "jarvis_tui.engine.stop:stop_processes",
        "fire",
        agent.id,
        "--reason",
        "derailed",
        "--note",
        "went rogue",
    )
    half = sup.registry.get(agent.id)
    assert half.status == WORKING and half.claim_op == "fire"  # processes gone, nothing recorded yet
    record = listed(jarvis_env)[agent.id]  # the next command finishes the dead fire
    assert record["status"] == FIRED
    assert [(f["reason"], f["note"]) for f in record["fires"]] == [("derailed", "went rogue")]
    assert git(jarvis_env.repo, "show", f"refs/jarvis/fired/{agent.id}:untracked_work.txt") == "work in progress"
    assert not Path(agent.worktree).exists()


def test_a_dead_firers_claim_is_taken_over_at_once(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    sup = jarvis_env.sup()
    agent = sup.spawn("work #hang", agent="demo")
    jarvis_env.wait_status(sup, agent.id, WORKING)
    jarvis_env.crash("before", "jarvis_tui.engine.stop:preserve", "fire", agent.id, "--reason", "dumb")
    again = jarvis_env.cli("fire", agent.id, "--reason", "unresponsive", "--json")
    assert again.returncode == 0, again.stderr  # not "already being fired" for a minute
    assert json.loads(again.stdout)["fires"][0]["reason"] == "unresponsive"
    assert any(e["kind"] == "claim_taken_over" for e in sup.registry.events(attempt_id=agent.id))


def test_a_retry_killed_half_way_leaves_no_claim_on_the_ended_attempt(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    sup = jarvis_env.sup()
    agent = sup.spawn("fails with files #steps=1 #dirty #exit=3", agent="demo")
    jarvis_env.wait_status(sup, agent.id, FAILED)
    # killed after its worktree was retired, before the new attempt was recorded
    jarvis_env.crash("after", "jarvis_tui.engine.retry:retire", "retry", agent.id)
    assert sup.registry.get(agent.id).claim is not None
    record = listed(jarvis_env)[agent.id]  # the next command releases the dead retry's claim
    assert record["claim"] is None and record["status"] == FAILED
    assert git(jarvis_env.repo, "show", f"refs/jarvis/kept/{agent.id}:untracked_work.txt") == "work in progress"
    again = json.loads(jarvis_env.cli("retry", agent.id, "--json", check=True).stdout)
    assert again["attempt"] == 2
    jarvis_env.wait_status(sup, again["id"], FAILED)


def test_a_removal_killed_half_way_is_finished_by_the_next_command(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    sup = jarvis_env.sup()
    agent = sup.spawn("done with files #steps=1 #dirty", agent="demo")
    jarvis_env.wait_status(sup, agent.id, DONE)
    jarvis_env.crash("after", "jarvis_tui.engine.stop:stop_processes", "rm", agent.id)
    half = sup.registry.get(agent.id)
    assert half.claim is not None and not half.removed
    jarvis_env.cli("ls", check=True)  # any command finishes the dead removal
    removed = sup.registry.get(agent.id)
    assert removed.removed and removed.claim is None and not Path(agent.worktree).exists()
    assert git(jarvis_env.repo, "show", f"refs/jarvis/kept/{agent.id}:untracked_work.txt") == "work in progress"


def test_a_killed_engine_is_replaced_by_the_next_command_and_the_queue_resumes(jarvis_env):
    jarvis_env.write_config(max_agents=1)
    sup = jarvis_env.sup()
    first = json.loads(jarvis_env.cli("spawn", "--json", "first #steps=30", check=True).stdout)
    second = json.loads(jarvis_env.cli("spawn", "--json", "second #steps=1", check=True).stdout)
    assert second["status"] == QUEUED
    lease = poll(lambda: read_lease(sup.registry), what="the on-demand engine to lead")
    os.kill(lease.pid, signal.SIGKILL)
    poll(lambda: ENGINE_SESSION not in jarvis_env.tmux.sessions(), what="the engine's session to end")
    jarvis_env.wait_status(sup, first["id"], DONE, timeout=40)
    time.sleep(1.5)
    assert sup.registry.get(second["id"]).status == QUEUED  # nobody dispatches it
    jarvis_env.cli("ls", check=True)  # any command sees queued work with no live engine...
    assert ENGINE_SESSION in jarvis_env.tmux.sessions()  # ...and starts one
    jarvis_env.wait_status(sup, second["id"], DONE, timeout=30)


def test_a_worktree_whose_git_link_was_deleted_is_never_snapshotted_from_the_main_checkout(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("break the worktree #hang #dirty", agent="demo")
    worktree = Path(agent.worktree)
    jarvis_env.wait_for(sup, agent.id, lambda a: (worktree / "untracked_work.txt").exists(), what="its work")
    (worktree / ".git").unlink()  # the agent deletes its worktree's .git file
    (jarvis_env.repo / "main_only.txt").write_text("the main checkout's own uncommitted file\n")
    result = jarvis_env.cli("fire", agent.id, "--reason", "corrupted", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == FIRED and data["fires"][0]["ref"] is None
    assert "work NOT preserved" in data["status_reason"] and str(worktree) in data["status_reason"]
    assert git(jarvis_env.repo, "for-each-ref", "refs/jarvis") == ""  # no snapshot of the main checkout
    assert (worktree / "untracked_work.txt").read_text() == "work in progress\n"  # kept in place
    removed = jarvis_env.cli("rm", agent.id)
    assert removed.returncode == 1 and "nothing was removed" in removed.stderr
    assert worktree.exists()
    shutil.rmtree(worktree)  # the test's own cleanup of the folder jarvis refused to touch
    git(jarvis_env.repo, "worktree", "prune")


def test_rm_kills_the_background_processes_of_an_agent_that_ended_by_itself(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("leaves a daemon #steps=1 #daemon", agent="demo")
    jarvis_env.wait_status(sup, agent.id, DONE)
    assert tagged(agent.id), "the demo daemon should outlive its agent"
    jarvis_env.cli("rm", agent.id, check=True)
    assert poll(lambda: not tagged(agent.id), timeout=10, what="the daemon to die")


def test_logs_prints_the_whole_log_in_bounded_chunks(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("short #steps=1", agent="demo")
    jarvis_env.wait_status(sup, agent.id, DONE)
    lines = [f"line {i:06d} " + "x" * 40 for i in range(120_000)]  # ~6 MiB, past the old 4 MiB cut
    sup.log_path(agent.id).write_text("\r\n".join(lines) + "\r\n")
    out = jarvis_env.cli("logs", agent.id, timeout=120).stdout.splitlines()
    assert out == lines
    assert jarvis_env.cli("logs", agent.id, "-n", "3").stdout.splitlines() == lines[-3:]


def test_a_prompt_too_long_for_argv_is_refused_with_a_hint(jarvis_env):
    jarvis_env.write_config(
        extra=f'[agents.byfile]\ncommand = ["{sys.executable}", "-c", '
        '"import sys, shutil; shutil.copy(sys.argv[1], \'got.txt\')", "{prompt_file}"]\n'
    )
    prompt = "p" * 1_000_000 + " $(rm -rf /) 'quoted' -leading"
    refused = jarvis_env.cli("spawn", "--agent", "demo", "-", input=prompt)
    assert refused.returncode == 2 and "{prompt_file}" in refused.stderr
    assert jarvis_env.cli("ls", "--all", "--json", check=True).stdout.strip() == "[]"
    assert jarvis_env.tmux.sessions() == []
    ok = json.loads(jarvis_env.cli("spawn", "--agent", "byfile", "--json", "-", input=prompt, check=True).stdout)
    sup = jarvis_env.sup()
    done = jarvis_env.wait_status(sup, ok["id"], DONE, FAILED)
    assert done.status == DONE
    assert (Path(done.worktree) / "got.txt").read_bytes() == prompt.encode()


def test_a_deleted_base_stops_only_what_needs_it(jarvis_env):
    git(jarvis_env.repo, "branch", "feature")
    text = jarvis_env.config_path.read_text().replace('base = "HEAD"', 'base = "feature"')
    jarvis_env.config_path.write_text(text)
    sup = jarvis_env.sup()
    agent = sup.spawn("on feature #hang", agent="demo")
    git(jarvis_env.repo, "branch", "-D", "feature")
    assert jarvis_env.cli("ls").returncode == 0
    spawn = jarvis_env.cli("spawn", "more")
    assert spawn.returncode == 2 and "supervisor.base 'feature' is not a branch or commit" in spawn.stderr
    doctor = json.loads(jarvis_env.cli("doctor", "--json").stdout)
    assert any(c["name"] == "base" and c["level"] == "warn" for c in doctor)
    jarvis_env.cli("fire", agent.id, "--reason", "dumb", check=True)


def test_a_session_already_named_like_the_agent_is_never_ours_to_kill(jarvis_env, monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")
    jarvis_env.write_config(max_agents=1)
    sup = jarvis_env.sup()
    holder = sup.spawn("hold the slot #hang", agent="demo")
    queued = sup.spawn("next #steps=1", agent="demo")
    assert queued.status == QUEUED
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    jarvis_env.tmux.start_session(f"jarvis-{queued.id}", jarvis_env.root, sleeper, jarvis_env.root / "other.log")
    sup.fire(holder.id, "dumb")
    assert sup.dispatch() == []
    failed = sup.registry.get(queued.id)
    assert failed.status == FAILED and "already exists" in failed.status_reason
    assert f"jarvis-{queued.id}" in jarvis_env.tmux.sessions()  # the other session lives on
    assert not (jarvis_env.state_dir / "worktrees" / queued.id).exists()  # what we made is undone
