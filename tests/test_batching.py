"""Speed is designed in: structural checks of how many calls a tick makes (no timings)."""

from __future__ import annotations

import os
import time

from jarvis_tui.engine.models import WAITING, WORKING


def test_reconcile_makes_one_list_panes_and_one_capture_for_all_agents(jarvis_env):
    jarvis_env.write_config(max_agents=10)
    sup = jarvis_env.sup()
    ids = [sup.spawn(f"agent {i} #hang", agent="demo").id for i in range(6)]
    for agent_id in ids:
        jarvis_env.wait_status(sup, agent_id, WORKING, WAITING)
    sup = jarvis_env.sup()  # a fresh one: no screen seen yet (see the silent-agent test below)
    calls: list[tuple[str, ...]] = []
    original = sup.tmux.run

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    sup.tmux.run = counting  # type: ignore[method-assign]
    sup.reconcile()
    assert len(calls) == 2, calls
    assert calls[0][0] == "list-panes" and "-a" in calls[0]
    assert calls[1].count("capture-pane") == 6  # all six screens in one invocation
    for agent_id in ids:
        sup.fire(agent_id, "dumb")


def test_process_trees_are_read_every_few_seconds_or_when_an_agent_appears(jarvis_env, monkeypatch):
    from jarvis_tui.engine.loop import TREE_INTERVAL, EngineLoop
    from jarvis_tui.engine.resources import ResourceSampler

    jarvis_env.write_config(max_agents=10)
    sup = jarvis_env.sup()
    first = sup.spawn("agent one #hang", agent="demo").id
    jarvis_env.wait_status(sup, first, WORKING, WAITING)
    loop = EngineLoop(sup)
    passes: list[int] = []
    real_pass = ResourceSampler._stat_pass
    monkeypatch.setattr(ResourceSampler, "_stat_pass", lambda self: passes.append(1) or real_pass(self))
    assert set(loop.tick().usage) == {first} and len(passes) == 1
    again = loop.tick()  # within the interval: the last pass stands, still reported
    assert len(passes) == 1 and set(again.usage) == {first} and again.usage[first].rss > 0
    second = sup.spawn("agent two #hang", agent="demo").id
    jarvis_env.wait_status(sup, second, WORKING, WAITING)
    assert set(loop.tick().usage) == {first, second} and len(passes) == 2  # a new agent: read at once
    sup.fire(second, "dumb")
    assert set(loop.tick().usage) == {first} and len(passes) == 2  # one gone: dropped, no pass
    loop._trees_at -= TREE_INTERVAL  # the interval passed
    loop.tick()
    assert len(passes) == 3
    loop.close()
    sup.fire(first, "dumb")


def test_reconcile_with_nothing_active_makes_no_tmux_call(jarvis_env):
    sup = jarvis_env.sup()
    calls = []
    sup.tmux.run = lambda *a, **k: calls.append(a)  # type: ignore[method-assign]
    assert sup.reconcile() == []
    assert calls == []


def test_an_engine_tick_makes_one_proc_pass_and_two_tmux_calls(jarvis_env, monkeypatch):
    import psutil

    from jarvis_tui.engine.loop import EngineLoop
    from jarvis_tui.engine.resources import ResourceSampler

    jarvis_env.write_config(max_agents=10)
    sup = jarvis_env.sup()
    ids = [sup.spawn(f"agent {i} #hang", agent="demo").id for i in range(5)]
    for agent_id in ids:
        jarvis_env.wait_for(sup, agent_id, lambda a: a.last_output_at is not None, what="output")
    loop = EngineLoop(sup)
    loop.tick()  # warm up: the first tick takes the lease
    passes = []
    real_iter = psutil.process_iter
    monkeypatch.setattr(psutil, "process_iter", lambda *a, **k: passes.append(a) or real_iter(*a, **k))
    stat_passes = []
    real_pass = ResourceSampler._stat_pass
    monkeypatch.setattr(ResourceSampler, "_stat_pass", lambda self: stat_passes.append(1) or real_pass(self))
    tmux_calls = []
    real_run = sup.tmux.run
    sup.tmux.run = lambda *a, **k: tmux_calls.append(a[0]) or real_run(*a, **k)  # type: ignore[method-assign]
    known = set(sup.sampler._tags)
    loop._trees_at = float("-inf")  # due: this tick reads the trees (see the cadence test below)
    result = loop.tick()
    assert passes == [] and stat_passes == [1]  # one cheap /proc pass, no psutil walk of the machine
    new = {key for key in sup.sampler._tags if key not in known}
    assert sup.sampler.environ_reads == len(new)  # environments read only for processes never seen
    # stat files read: the processes never seen, and the agents' own; not every process on the machine
    members = sum(u.procs for u in result.usage.values())
    assert sup.sampler.stat_reads <= members + len(new) + 5, (sup.sampler.stat_reads, members, len(new))
    assert sup.sampler.stat_reads < len([p for p in os.listdir("/proc") if p.isdigit()])
    # one poll, and at most one batched capture (printing agents are recaptured every few seconds)
    assert tmux_calls in (["list-panes", "display-message"], ["list-panes"]), tmux_calls
    assert set(result.usage) == set(ids) and all(u.rss > 0 and u.procs >= 2 for u in result.usage.values())
    loop.close()
    for agent_id in ids:
        sup.fire(agent_id, "dumb")


def test_batched_capture_finds_every_pane_even_past_the_first_ten(jarvis_env):
    """Regression: pane ids like %3 or %10 were mangled by display-message's strftime."""
    tmux = jarvis_env.tmux
    tmux.run("new-session", "-d", "-s", "many", "-x", "80", "-y", "5", "sleep", "60")
    for _ in range(11):
        tmux.run("new-window", "-t", "=many:", "sleep", "60")
    panes = tmux.run("list-panes", "-s", "-t", "=many", "-F", "#{pane_id}").stdout.split()
    assert len(panes) == 12 and "%11" in panes
    screens = tmux.capture_many(panes)
    assert sorted(screens) == sorted(panes)


def test_a_silent_agents_screen_is_not_captured_again(jarvis_env):
    """A pane's screen only changes with output, and all output goes through its log: a log
    that did not grow means the screen captured last time is still the screen."""
    jarvis_env.write_config(max_agents=10)
    sup = jarvis_env.sup()
    quiet = [sup.spawn(f"quiet {i} #silent #hang", agent="demo").id for i in range(3)]
    busy = sup.spawn("busy #hang", agent="demo").id
    for agent_id in [*quiet, busy]:
        jarvis_env.wait_for(sup, agent_id, lambda a: a.last_output_at is not None, what="its banner")
    calls: list[tuple[str, ...]] = []
    original = sup.tmux.run

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    sup.tmux.run = counting  # type: ignore[method-assign]
    sup.reconcile()  # captures whatever changed since the agents started
    size = {a: sup.paths.log(a).stat().st_size for a in [*quiet, busy]}
    deadline = time.monotonic() + 20  # (not jarvis_env.wait_for: it reconciles, capturing as it goes)
    while sup.paths.log(busy).stat().st_size == size[busy]:
        assert time.monotonic() < deadline, "the busy agent printed nothing more"
        time.sleep(0.05)
    assert all(sup.paths.log(a).stat().st_size == size[a] for a in quiet)
    stamp, pane, screen, _when = sup.screens[busy]
    sup.screens[busy] = (stamp, pane, screen, 0.0)  # its last capture long ago: due again
    calls.clear()
    sup.reconcile()
    captures = [c for c in calls if "capture-pane" in c]
    assert len(captures) == 1 and captures[0].count("capture-pane") == 1  # the busy one only
    screens = {agent_id: sup.screens[agent_id][2] for agent_id in quiet}
    assert all("quiet" in screen for screen in screens.values())  # the cached screens are theirs
    for agent_id in [*quiet, busy]:
        sup.fire(agent_id, "dumb")


def test_a_tick_decodes_only_the_rows_that_changed(jarvis_env, monkeypatch):
    """Reconcile, sampling, the policies and the table all read the agents: an unchanged row is
    decoded once, and every read still hands out records of its own."""
    from jarvis_tui.engine import registry_reads

    sup = jarvis_env.sup()
    ids = [sup.spawn(f"held {i}", agent="demo", hold=True).id for i in range(3)]
    decoded: list[str] = []
    real = registry_reads.agent_from_row
    monkeypatch.setattr(registry_reads, "agent_from_row", lambda row: decoded.append(row["id"]) or real(row))
    sup.registry._decoded.clear()
    first = sup.registry.agents()
    assert sorted(decoded) == sorted(ids)
    decoded.clear()
    first[0].fires.append("scribbled")  # a caller's change stays in its own record
    first[0].scope.append("scribbled")
    second = sup.registry.agents()
    assert decoded == [] and second[0].fires == [] and second[0].scope == []
    assert second[0] is not first[0]
    sup.registry.update_attempt(ids[1], summary="changed")
    third = {a.id: a for a in sup.registry.agents()}
    assert decoded == [ids[1]] and third[ids[1]].summary == "changed"


def test_unchanged_agents_are_not_queried_again_until_someone_writes(jarvis_env):
    """A tick asks for the agents several times; while nothing was written (a lease renewal and
    the resource reading do not count) the database is not queried again. A write on this
    connection, or on any other (another process, another thread), is seen at once."""
    sup = jarvis_env.sup()
    ids = [sup.spawn(f"held {i}", agent="demo", hold=True).id for i in range(2)]
    registry = sup.registry
    queries: list[str] = []
    registry.conn.set_trace_callback(lambda sql: queries.append(sql) if "FROM attempts" in sql else None)
    try:
        registry.agents()
        first = len(queries)
        assert first >= 1
        registry.set_meta("resources", '{"cpu": 1}')  # written every tick: not agent data
        again = registry.agents()
        assert len(queries) == first, queries[first:]
        again[0].scope.append("scribbled")  # a cached answer still hands out records of its own
        assert registry.agents()[0].scope == []
        registry.update_attempt(ids[0], summary="mine")  # this connection writes
        assert {a.id: a.summary for a in registry.agents()}[ids[0]] == "mine"
        assert len(queries) > first
        try:  # read inside a transaction that is then undone: the undone state is not kept
            with registry.transaction():
                registry.update_attempt(ids[0], summary="undone")
                assert {a.id: a.summary for a in registry.agents()}[ids[0]] == "undone"
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        assert {a.id: a.summary for a in registry.agents()}[ids[0]] == "mine"
        other = jarvis_env.sup().registry  # another connection (as another process has)
        other.update_attempt(ids[1], summary="theirs")
        other.close()
        seen = len(queries)
        assert {a.id: a.summary for a in registry.agents()}[ids[1]] == "theirs"
        assert len(queries) > seen
    finally:
        registry.conn.set_trace_callback(None)


def test_a_working_agent_that_keeps_printing_is_recaptured_every_few_seconds(jarvis_env):
    """Printing agents' screens change all the time; a question stops the output. So a working
    agent still printing is captured again every BUSY_RECAPTURE seconds (its last screen
    standing in), and at once when it goes quiet."""
    from jarvis_tui.engine.observe import BUSY_RECAPTURE

    now = [time.time()]
    sup = jarvis_env.sup(clock=lambda: now[0])
    busy = sup.spawn("busy #hang #speed=8", agent="demo").id
    jarvis_env.wait_for(sup, busy, lambda a: a.last_output_at is not None, what="output")
    captures: list[int] = []
    original = sup.tmux.run

    def counting(*args, **kwargs):
        captures.append(args.count("capture-pane"))
        return original(*args, **kwargs)

    sup.tmux.run = counting  # type: ignore[method-assign]
    log = sup.paths.log(busy)

    def reconcile_after_output() -> int:
        size = log.stat().st_size
        deadline = time.monotonic() + 20
        while log.stat().st_size == size:
            assert time.monotonic() < deadline, "the agent printed nothing more"
            time.sleep(0.02)
        captures.clear()
        sup.reconcile()
        return sum(captures)

    reconcile_after_output()  # its stamp as of a tick
    sup.screens[busy] = (*sup.screens[busy][:3], now[0])  # captured just now
    assert reconcile_after_output() == 0  # still printing, captured a moment ago: not again
    assert sup.registry.get(busy).status == WORKING
    now[0] += BUSY_RECAPTURE + 1
    assert reconcile_after_output() == 1  # due again
    assert sup.screens[busy][3] == now[0]
    sup.fire(busy, "dumb")


def test_a_parked_connection_and_its_reads_go_on_to_the_next_tick_thread(jarvis_env):
    """The dashboard ticks in a new thread each second; the thread parks its connection, and
    the next one takes it with its read cache: unchanged agents are not queried again."""
    import threading

    sup = jarvis_env.sup()
    sup.spawn("held", agent="demo", hold=True)
    registry = sup.registry
    seen: list[tuple[int, int]] = []  # (connection id, queries of attempts) per tick thread

    def tick() -> None:
        conn = registry.conn
        queries: list[str] = []
        conn.set_trace_callback(lambda sql: queries.append(sql) if "FROM attempts" in sql else None)
        registry.agents()
        registry.agents()
        conn.set_trace_callback(None)
        seen.append((id(conn), len(queries)))
        registry.park()

    for _ in range(3):
        thread = threading.Thread(target=tick)
        thread.start()
        thread.join()
    assert len({conn for conn, _ in seen}) == 1  # one connection for the three threads
    assert [n for _, n in seen][1:] == [0, 0]  # nothing written: no query after the first tick
    registry.close()  # closes the parked one too
    assert registry._parked == []


def test_an_agents_window_is_not_renamed_as_it_prints(jarvis_env):
    """tmux would look up the pane's running command to rename its window as it prints; the
    name is never shown (the status line shows the agent), so that is turned off."""
    sup = jarvis_env.sup()
    agent = sup.spawn("agent #hang", agent="demo")
    jarvis_env.wait_status(sup, agent.id, WORKING, WAITING)
    target = f"={sup.registry.get(agent.id).tmux_session}:"
    shown = sup.tmux.run("show-options", "-w", "-t", target, "automatic-rename").stdout.split()
    assert shown == ["automatic-rename", "off"]
    sup.fire(agent.id, "dumb")


SPAWN_AND_LIST_MODULES = """
import sys
from jarvis_tui.cli import main
code = main(["spawn", "--agent", "demo", "--json", "--", "say hi #hang"])
assert code == 0, code
print("imported:", sorted(m for m in ("psutil", "statistics", "jarvis_tui.engine.transcripts") if m in sys.modules))
"""


def test_a_cli_spawn_never_imports_psutil(jarvis_env):
    """The spawn's resource gate, its claim and its lease checks read /proc (psutil's import alone
    was ~8 ms of each spawn); the agent really starts."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", SPAWN_AND_LIST_MODULES],
        env={**jarvis_env.cli_env(), "JARVIS_NO_ENGINE": "1"},
        cwd=jarvis_env.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "imported: []", proc.stdout
    sup = jarvis_env.sup()
    (agent,) = sup.agents()
    jarvis_env.wait_status(sup, agent.id, WORKING, WAITING)


def test_a_spawn_resolves_its_base_once(jarvis_env, monkeypatch):
    """The base is resolved when the spawn is checked, and the start begins from that commit
    (a second rev-parse a few ms later was a git process per spawn for nothing)."""
    from jarvis_tui.engine import git as git_runner

    sup = jarvis_env.sup()
    calls: list[tuple[str, ...]] = []
    real = git_runner.probe
    monkeypatch.setattr(git_runner, "probe", lambda cwd, *a, **k: calls.append(a) or real(cwd, *a, **k))
    agent = sup.spawn("resolved once #hang", agent="demo")
    # `-c name=value` pairs are git options, not subcommands
    subcommands = [next(a for i, a in enumerate(c) if a != "-c" and (i == 0 or c[i - 1] != "-c")) for c in calls]
    assert subcommands == ["rev-parse", "worktree"], calls
    head = real(jarvis_env.repo, "rev-parse", "HEAD").stdout.strip()
    assert sup.registry.get(agent.id).base_commit == head
    # --base naming the config's own base is the config's base: recorded as null, no extra git call
    assert sup.validate_spawn("x", agent="demo", base=sup.config.supervisor.base).base is None
    assert sup.validate_spawn("x", agent="demo", base=head).base == head
    jarvis_env.wait_status(sup, agent.id, WORKING, WAITING)
