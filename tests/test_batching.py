"""Speed is designed in: structural checks of how many calls a tick makes (no timings)."""

from __future__ import annotations

from jarvis_tui.engine.models import WAITING, WORKING


def test_reconcile_makes_one_list_panes_and_one_capture_for_all_agents(jarvis_env):
    jarvis_env.write_config(max_agents=10)
    sup = jarvis_env.sup()
    ids = [sup.spawn(f"agent {i} #hang", agent="demo").id for i in range(6)]
    for agent_id in ids:
        jarvis_env.wait_status(sup, agent_id, WORKING, WAITING)
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
    monkeypatch.setattr(ResourceSampler, "_stat_pass", staticmethod(lambda: stat_passes.append(1) or real_pass()))
    tmux_calls = []
    real_run = sup.tmux.run
    sup.tmux.run = lambda *a, **k: tmux_calls.append(a[0]) or real_run(*a, **k)  # type: ignore[method-assign]
    known = set(sup.sampler._tags)
    result = loop.tick()
    assert passes == [] and stat_passes == [1]  # one cheap /proc pass, no psutil walk of the machine
    new = {key for key in sup.sampler._tags if key not in known}
    assert sup.sampler.environ_reads == len(new)  # environments read only for processes never seen
    assert tmux_calls == ["list-panes", "display-message"]  # one poll, one batched capture
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
