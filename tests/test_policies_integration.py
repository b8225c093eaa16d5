"""Supervision policies for real: tmux, git, the registry and the demo agent, no dashboard.

The engine loop is either ticked here (``EngineLoop(sup).tick()``, what the dashboard does)
or runs as the headless ``jarvis engine`` the CLI starts on demand.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git

from jarvis_tui.engine.headless import ENGINE_SESSION
from jarvis_tui.engine.lease import read_lease
from jarvis_tui.engine.loop import EngineLoop
from jarvis_tui.engine.models import BLOCKED, DONE, FAILED, FIRED, QUEUED, WAITING, WORKING
from jarvis_tui.engine.resources import SystemReading
from jarvis_tui.engine.supervisor import Supervisor

DEMO = '["python", "-m", "jarvis_tui.demo_agent", "{prompt}"]'


def profile(name: str, *keys: str) -> str:
    return "\n".join(
        [f"[agents.{name}]", f"command = {DEMO}", "waiting_after = 0", 'env = { DEMO_SPEED = "20" }', *keys, ""]
    )


def tick_until(
    loop: EngineLoop,
    predicate: Callable[[], bool],
    *,
    timeout: float = 30.0,
    what: str = "condition",
    pause: float = 0.1,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        loop.tick()
        if predicate():
            return
        if time.monotonic() > deadline:
            agents = [
                (a.id, a.attempt, a.status, a.status_reason, a.queue_reason) for a in loop.sup.agents(include_all=True)
            ]
            raise AssertionError(f"timed out waiting for {what}: {agents}")
        time.sleep(pause)


def poll(predicate: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def policy_events(sup: Supervisor, decision: str) -> list[dict]:
    return [e for e in sup.registry.events() if e["kind"] == "policy" and e["data"]["decision"] == decision]


def latest_of(sup: Supervisor, task_id: str):
    return sup.registry.attempts_of(task_id)[-1]


# --------------------------------------------------------------------------- queue, dependencies


def test_queue_drains_in_priority_order_with_no_dashboard(jarvis_env):
    """An orchestrator that only uses the CLI: queued work starts by itself, best first."""
    jarvis_env.write_config(max_agents=1)
    first = json.loads(jarvis_env.cli("spawn", "--json", "hold the slot #steps=1 #ask", check=True).stdout)
    assert first["status"] == WORKING
    assert ENGINE_SESSION not in jarvis_env.tmux.sessions()  # nothing needed a loop yet
    ids = {}
    for priority in ("low", "critical", "high"):
        out = jarvis_env.cli("spawn", "--json", "-p", priority, f"{priority} job #steps=1", check=True).stdout
        data = json.loads(out)
        assert (data["status"], data["queue_reason"]) == (QUEUED, "max_agents 1 reached")
        ids[priority] = data["id"]
    listed = {a["id"]: a for a in json.loads(jarvis_env.cli("ls", "--json", check=True).stdout)}
    assert listed[ids["low"]]["queue_reason"] == "max_agents 1 reached"
    # the first queued spawn started the headless engine on the private socket
    assert ENGINE_SESSION in jarvis_env.tmux.sessions()
    sup = jarvis_env.sup()
    jarvis_env.wait_status(sup, first["id"], WAITING)
    jarvis_env.cli("send", first["id"], "y", check=True)

    def all_done() -> bool:
        return all(sup.registry.get(i).status in (DONE, FAILED) for i in [first["id"], *ids.values()])

    poll(all_done, timeout=40, what="the queue to drain")
    agents = [sup.registry.get(i) for i in [first["id"], *ids.values()]]
    assert all(a.status == DONE for a in agents), [(a.id, a.status, a.status_reason) for a in agents]
    order = [a.id for a in sorted(agents, key=lambda a: a.started_at)]
    assert order == [first["id"], ids["critical"], ids["high"], ids["low"]]
    # one at a time: each started after the one before it ended
    ordered = sorted(agents, key=lambda a: a.started_at)
    assert all(b.started_at >= a.ended_at - 0.5 for a, b in itertools.pairwise(ordered))
    lease = read_lease(sup.registry)
    assert lease is not None and lease.owner.startswith("engine:")
    log = jarvis_env.state_dir / "sessions" / "engine.log"  # the pane's output reaches it a bit later
    poll(lambda: f"{ids['low']} started" in log.read_text(errors="replace"), timeout=10, what="the engine log")
    assert "holding the engine lease: acting" in log.read_text(errors="replace")


def test_the_headless_engine_applies_an_edited_config_and_keeps_the_last_good_one(jarvis_env):
    """Raising a limit (or a budget) in config.toml releases the queue with no dashboard and no
    `jarvis dispatch`; a file that no longer parses is reported and changes nothing."""
    jarvis_env.write_config(max_agents=1)
    holder = json.loads(jarvis_env.cli("spawn", "--json", "hold the slot #ask", check=True).stdout)
    queued = json.loads(jarvis_env.cli("spawn", "--json", "waits for a slot #steps=1", check=True).stdout)
    assert queued["queue_reason"] == "max_agents 1 reached"
    sup = jarvis_env.sup()
    log = jarvis_env.state_dir / "sessions" / "engine.log"
    poll(lambda: log.exists() and "holding the engine lease" in log.read_text(errors="replace"), what="the engine")
    jarvis_env.config_path.write_text(jarvis_env.config_path.read_text() + "\n[supervisor\n")
    poll(lambda: "config change not applied" in log.read_text(errors="replace"), what="the refusal in the log")
    assert "line " in log.read_text(errors="replace").split("config change not applied")[1].splitlines()[0]
    time.sleep(1.0)  # a few ticks on the last good config: still one slot
    assert sup.registry.get(queued["id"]).status == QUEUED
    jarvis_env.write_config(max_agents=2)
    poll(lambda: sup.registry.get(queued["id"]).status == DONE, timeout=30, what="the queued agent, released")
    assert "config re-read" in log.read_text(errors="replace")
    assert sup.registry.get(holder["id"]).status == WAITING
    sup.fire(holder["id"], "dumb")


def test_an_agent_still_running_after_reporting_its_outcome_is_stopped_with_its_files_kept(jarvis_env):
    """An interactive tool reports done, then sits at its prompt: its run is over. Past a
    grace its processes are stopped (they held RAM and looked like orphans to doctor)."""
    import psutil

    from jarvis_tui.engine.overseer import REPORT_EXIT_GRACE

    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("Work, report, stay #hang", agent="demo").id, WORKING)
    reported = json.loads(
        jarvis_env.cli("report", "--status", "done", "--id", agent.id, "--force", "--json", check=True).stdout
    )
    assert reported["status"] == DONE
    assert ENGINE_SESSION in jarvis_env.tmux.sessions()  # started for it: no dashboard needs to be open
    jarvis_env.tmux.kill_session(ENGINE_SESSION)  # this test drives the loop itself, on its own clock
    poll(lambda: read_lease(sup.registry) is None, what="the engine's lease released")
    assert psutil.pid_exists(agent.pid)
    EngineLoop(sup).tick()  # within the grace: it may still be exiting by itself
    assert psutil.pid_exists(agent.pid) and sup.registry.events(kinds=("policy",)) == []
    later = jarvis_env.sup(clock=lambda: time.time() + REPORT_EXIT_GRACE + 1)
    loop = EngineLoop(later)
    actions = [a for a in loop.tick().actions if a.agent_id == agent.id]
    assert [a.kind for a in actions] == ["stopped_after_report"], actions
    poll(lambda: not psutil.pid_exists(agent.pid), what="the agent's processes gone")
    assert jarvis_env.tmux.list_panes()[agent.tmux_session].dead
    ended = sup.registry.get(agent.id)
    assert ended.status == DONE and Path(ended.worktree).is_dir()
    assert (Path(ended.worktree) / "notes" / "progress.md").exists()  # its files stay
    assert [a for a in loop.tick().actions if a.agent_id == agent.id] == []  # once
    loop.close()
    doctor = jarvis_env.cli("doctor", "--json")
    assert agent.id not in json.dumps([c for c in json.loads(doctor.stdout) if "orphan" in c["name"]])


def test_after_waits_for_done_and_blocks_on_failure(jarvis_env):
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    first = sup.spawn("first #steps=2", agent="demo")
    second = sup.spawn("second #steps=1", agent="demo", after=first.id)
    assert (second.status, second.queue_reason) == (QUEUED, f"waiting for task {first.task_id} (working)")
    broken = sup.spawn("broken #steps=1 #exit=3", agent="demo")
    dependant = sup.spawn("never runs", agent="demo", after=broken.id)
    tick_until(
        loop,
        lambda: sup.registry.get(second.id).status == DONE and sup.registry.get(dependant.id).status == BLOCKED,
        what="done + blocked",
    )
    assert sup.registry.get(second.id).started_at >= sup.registry.get(first.id).ended_at
    blocked = sup.registry.get(dependant.id)
    assert blocked.status_reason == f"dependency {broken.task_id} failed (exited with code 3)"
    assert blocked.started_at is None and blocked.worktree is None
    # a new attempt of the dependency puts the dependant back in the queue
    sup.retry(broken.id)
    tick_until(
        loop, lambda: [e["attempt_id"] for e in policy_events(sup, "unblocked")] == [dependant.id], what="unblocked"
    )
    tick_until(loop, lambda: sup.registry.get(dependant.id).status == BLOCKED, what="blocked again")


# --------------------------------------------------------------------------- retries


def test_failed_attempts_retry_with_backoff_and_the_crash_loop_guard(jarvis_env):
    # max_attempts 3, but each attempt dies within min_uptime: it counts double, so 2 attempts
    jarvis_env.write_config(extra="max_attempts = 3\nbackoff = 1\nbackoff_max = 1.5\nmin_uptime = 60\n")
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    first = sup.spawn("crash #steps=1 #exit=3", agent="demo")
    tick_until(loop, lambda: len(sup.registry.attempts_of(first.task_id)) == 2, what="an automatic retry")
    retry = latest_of(sup, first.task_id)
    assert retry.status == QUEUED and retry.not_before is not None
    assert re.fullmatch(r"retry 2/3 in [12]s \(backoff\)", retry.queue_reason), retry.queue_reason
    assert retry.retry_context.startswith(f"attempt 1 ({first.id}) exited with code 3")
    [decision] = policy_events(sup, "retry")
    assert decision["attempt_id"] == first.id
    assert decision["data"]["exit_code"] == 3 and decision["data"]["crash_loop"] is True
    assert 0.8 <= decision["data"]["delay"] <= 1.2

    tick_until(loop, lambda: policy_events(sup, "retry_exhausted"), what="retries exhausted")
    attempts = sup.registry.attempts_of(first.task_id)
    assert [a.status for a in attempts] == [FAILED, FAILED]
    assert attempts[1].started_at >= attempts[1].not_before  # the backoff was honoured
    [exhausted] = policy_events(sup, "retry_exhausted")
    assert exhausted["data"]["used"] == 4 and exhausted["data"]["max_attempts"] == 3
    assert "no retry: 4 of max_attempts 3 used" in exhausted["data"]["note"]
    retried = [e for e in sup.registry.events() if e["kind"] == "retried"]
    assert [e["data"]["automatic"] for e in retried] == [True]


# --------------------------------------------------------------------------- the overseer's fires


def test_timeout_runaway_and_stall_fire_with_their_readings(jarvis_env):
    jarvis_env.write_config(
        extra="max_runtime = 2\n"
        + profile("hot", "max_cpu_percent = 40", "runaway_grace = 1")
        + profile("quiet", "stall_timeout = 1", "fire_stalled = true")
    )
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    slow = sup.spawn("never ends #hang #dirty", agent="demo")
    hot = sup.spawn("burn a core #hang #spin", agent="hot")
    quiet = sup.spawn("say nothing #hang #silent", agent="quiet")
    ids = [slow.id, hot.id, quiet.id]
    tick_until(
        loop, lambda: all(sup.registry.get(i).status == FIRED for i in ids), pause=0.2, what="three automatic fires"
    )
    fires = {i: sup.registry.get(i).fires[-1] for i in ids}
    assert {i: f.reason for i, f in fires.items()} == {slow.id: "timeout", hot.id: "runaway", quiet.id: "unresponsive"}
    assert all(f.automatic for f in fires.values())
    assert re.fullmatch(r"ran \d+s > max_runtime 2s", fires[slow.id].note)
    assert re.match(r"CPU \d+% > max_cpu_percent 40 for \d+s \(runaway_grace 1s\)", fires[hot.id].note)
    # work is preserved exactly as with a manual fire
    assert fires[slow.id].ref == f"refs/jarvis/fired/{slow.id}"
    assert git(jarvis_env.repo, "show", f"{fires[slow.id].ref}:untracked_work.txt") == "work in progress"
    # each decision is an event carrying the reading that caused it
    by_agent = {e["attempt_id"]: e["data"] for e in policy_events(sup, "fire")}
    assert by_agent[slow.id]["reason"] == "timeout" and by_agent[slow.id]["runtime"] >= 2
    assert by_agent[hot.id]["cpu"] > 40 and by_agent[hot.id]["over_for"] >= 1
    assert by_agent[quiet.id]["silent"] >= 1 and by_agent[quiet.id]["stall_timeout"] == 1
    [stalled] = policy_events(sup, "stalled")
    assert stalled["attempt_id"] == quiet.id
    # and `jarvis show` tells the story: the decisions with their notes
    shown = json.loads(jarvis_env.cli("show", quiet.id, "--json", check=True).stdout)
    assert [d["decision"] for d in shown["decisions"]] == ["stalled", "fire"]
    assert "policy fire: " in jarvis_env.cli("show", quiet.id, check=True).stdout
    # fires never retry automatically, and the metrics count them by reason
    assert all(len(sup.registry.attempts_of(sup.registry.get(i).task_id)) == 1 for i in ids)
    stats = {row["profile"]: row for row in json.loads(jarvis_env.cli("stats", "--json", check=True).stdout)}
    assert stats["demo"]["fired_by_reason"] == {"timeout": 1} and stats["demo"]["dispatched"] == 1
    assert stats["hot"]["fired_by_reason"] == {"runaway": 1} and stats["hot"]["success_rate"] == 0
    assert stats["quiet"]["fired_by_reason"] == {"unresponsive": 1} and stats["quiet"]["hours"] > 0


def test_emergency_ram_fires_the_lowest_priority_newest_agent_one_at_a_time(jarvis_env):
    text = jarvis_env.config_path.read_text().replace("[resources]\n", "[resources]\nemergency_ram = 90\n", 1)
    jarvis_env.config_path.write_text(text)
    sup = jarvis_env.sup()
    older = sup.spawn("low, older #hang", agent="demo", priority="low")
    medium = sup.spawn("medium #hang", agent="demo", priority="medium")
    newer = sup.spawn("low, newer #hang", agent="demo", priority="low")
    loop = EngineLoop(sup, readings=lambda: SystemReading(cpu=5.0, ram=95.0, at=time.time()))
    result = loop.tick()
    assert [(a.kind, a.agent_id) for a in result.actions] == [("fire", newer.id)]
    fired = sup.registry.get(newer.id)
    assert fired.status == FIRED and fired.fires[-1].reason == "pressure"
    assert "RAM 95% >= emergency_ram 90%" in fired.fires[-1].note
    [event] = policy_events(sup, "fire")
    assert event["data"]["ram"] == 95.0 and event["data"]["emergency_ram"] == 90
    assert loop.tick().actions == []  # one at a time: the next waits for the reading to settle
    assert {sup.registry.get(i).status for i in (older.id, medium.id)} == {WORKING}


# --------------------------------------------------------------------------- lease, hooks


def test_lease_is_taken_over_when_the_engine_is_killed(jarvis_env):
    sup = jarvis_env.sup()
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "JARVIS_AGENT_ID")}
    env.update(JARVIS_CONFIG=str(jarvis_env.config_path), JARVIS_HOME=str(jarvis_env.state_dir))
    engine = subprocess.Popen(
        [sys.executable, "-m", "jarvis_tui", "engine", "--interval", "0.2", "--idle-exit", "0"],
        env=env,
        cwd=jarvis_env.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        poll(lambda: getattr(read_lease(sup.registry), "pid", None) == engine.pid, what="the engine to take the lease")
        standby = EngineLoop(sup)
        assert standby.tick().leader is False  # a live holder: this loop only observes
        once = json.loads(jarvis_env.cli("engine", "--once", "--json", check=True).stdout)
        assert once["leader"] is False and once["started"] == [] and once["actions"] == []
        doctor = {c["name"]: c for c in json.loads(jarvis_env.cli("doctor", "--json").stdout)}
        assert f"pid {engine.pid}" in doctor["engine"]["detail"] and doctor["engine"]["detail"].endswith("alive")

        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=10)
        result = standby.tick()
        assert result.leader is True
        lease = read_lease(sup.registry)
        assert lease.owner == standby.owner and lease.pid == os.getpid()
        taken = [e for e in sup.registry.events() if e["kind"] == "lease"][-1]["data"]
        assert taken["decision"] == "taken_over" and taken["why"] == f"holder pid {engine.pid} is dead"
        standby.close()
        assert read_lease(sup.registry) is None  # released on a clean exit
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait(timeout=10)
        if engine.stderr:
            engine.stderr.close()


def test_process_liveness_and_start_times_read_from_proc_agree_with_psutil():
    """Claims and the lease tell a live holder from a dead one (or a reused pid) by its start
    time, now read from /proc without psutil: the same values psutil gives, zombies count dead."""
    import psutil

    from jarvis_tui.engine.lease import pid_alive, process_started

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_started(child.pid)
        assert started is not None and abs(started - psutil.Process(child.pid).create_time()) < 0.05
        assert pid_alive(child.pid) and pid_alive(child.pid, started)
        assert not pid_alive(child.pid, started - 5)  # another process that had this pid
        child.kill()
        poll(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, what="a zombie")
        assert not pid_alive(child.pid)  # dead, not yet reaped
    finally:
        child.kill()
        child.wait(timeout=10)
    assert not pid_alive(child.pid) and process_started(child.pid) is None
    assert process_started(os.getpid()) == pytest.approx(psutil.Process().create_time(), abs=0.05)


def test_system_reading_from_proc_matches_psutil():
    """The machine's CPU % (since the previous reading) and RAM, read from /proc, are psutil's."""
    import psutil

    from jarvis_tui.engine.resources import ResourceSampler

    sampler = ResourceSampler()
    psutil.cpu_percent(interval=None)  # both measure from here
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # some CPU to measure
        pass
    reading, expected = sampler.system(), psutil.cpu_percent(interval=None)
    memory = psutil.virtual_memory()
    assert abs(reading.cpu - expected) < 10, (reading.cpu, expected)
    assert reading.cpu > 0
    assert abs(reading.ram - memory.percent) < 2
    assert reading.ram_total == memory.total
    assert abs(reading.ram_used - (memory.total - memory.available)) < 0.02 * memory.total


def test_on_status_change_hook_gets_json_on_stdin(jarvis_env):
    out = jarvis_env.root / "hook-events.jsonl"
    code = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read())"
    jarvis_env.write_config(extra=f"[hooks]\non_status_change = {json.dumps([sys.executable, '-c', code, str(out)])}\n")
    sup = jarvis_env.sup()
    agent = sup.spawn("quick #steps=1", agent="demo")
    jarvis_env.wait_status(sup, agent.id, DONE)

    def events() -> list[dict]:
        return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []

    poll(lambda: len(events()) >= 3, what="three hook events")
    got = sorted(events(), key=lambda e: e["at"])
    assert [(e["id"], e["old"], e["new"]) for e in got] == [
        (agent.id, "queued", "starting"),
        (agent.id, "starting", "working"),
        (agent.id, "working", "done"),
    ]
    assert got[2]["reason"] == "exited 0" and got[2]["task_id"] == agent.task_id


def test_the_hook_hears_admission_decisions_too(jarvis_env):
    out = jarvis_env.root / "hook-events.jsonl"
    code = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read())"
    jarvis_env.write_config(
        max_agents=1, extra=f"[hooks]\non_status_change = {json.dumps([sys.executable, '-c', code, str(out)])}\n"
    )
    sup = jarvis_env.sup()
    first = sup.spawn("busy #hang", agent="demo")
    second = sup.spawn("wait in line #steps=1", agent="demo")
    assert second.status == "queued"  # created queued: not a change, no hook
    sup.fire(first.id, "dumb")
    sup.dispatch()
    jarvis_env.wait_status(sup, second.id, DONE)

    def changes(agent_id: str) -> list[tuple[str, str]]:
        lines = out.read_text().splitlines() if out.exists() else []
        got = sorted((json.loads(line) for line in lines), key=lambda e: e["at"])
        return [(e["old"], e["new"]) for e in got if e["id"] == agent_id]

    poll(lambda: len(changes(second.id)) >= 3 and len(changes(first.id)) >= 3, what="hook events")
    assert changes(second.id) == [("queued", "starting"), ("starting", "working"), ("working", "done")]
    assert changes(first.id) == [("queued", "starting"), ("starting", "working"), ("working", "fired")]


def test_headless_engine_exits_when_idle_and_releases_the_lease(jarvis_env):
    started = time.monotonic()
    result = jarvis_env.cli("engine", "--interval", "0.1", "--idle-exit", "0.5", check=True, timeout=20)
    assert time.monotonic() - started < 10
    assert "nothing active or queued for 0.5s: exiting" in result.stdout
    sup = jarvis_env.sup()
    assert read_lease(sup.registry) is None
    kinds = [e["data"]["decision"] for e in sup.registry.events() if e["kind"] == "lease"]
    assert kinds == ["acquired", "released"]
