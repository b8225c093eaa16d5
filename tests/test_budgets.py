"""Budgets: the rules (pure), an agent fired for its budget end to end with the demo agent's
Claude-format transcript (real tmux, the real engine loop), the 80 % warning, and a spent
daily budget holding the queue until the day rolls over or the budget is raised."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import git

from jarvis_tui.engine import budgets, usage
from jarvis_tui.engine.budgets import spent_today
from jarvis_tui.engine.config import load_config, parse_config
from jarvis_tui.engine.dispatch import decide
from jarvis_tui.engine.loop import EngineLoop
from jarvis_tui.engine.models import DONE, FIRED, QUEUED, WAITING, WORKING, Agent, Tokens

SPENDER = """
[agents.spender]
command = ["python", "-m", "jarvis_tui.demo_agent", "{{prompt}}"]
waiting_patterns = ["\\\\[y/N\\\\]"]
transcripts = "claude"
env = {{ CLAUDE_CONFIG_DIR = "{home}", DEMO_SPEED = "4" }}
{more}
"""
# Per demo step (#tokens=100000): 100k input + 10k output of Sonnet 4.5 = $0.30 + $0.15 = $0.45;
# the first step's sub-agent (Haiku 4.5, 10k in, 1k out) adds $0.015.


def spender(jarvis_env, tmp_path: Path, *, more: str = "", top: str = "") -> None:  # type: ignore[no-untyped-def]
    jarvis_env.write_config(extra=top + SPENDER.format(home=tmp_path / "claude-home", more=more))


def loop_of(sup) -> EngineLoop:  # type: ignore[no-untyped-def]
    loop = EngineLoop(sup)
    loop.usage_interval = 0.0  # read transcripts every tick
    return loop


def tick_until(loop: EngineLoop, predicate, *, timeout: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        loop.tick()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --------------------------------------------------------------------------- pure rules


def running(cost: float | None, *, budget: float | None = None, warned: bool = False) -> Agent:
    return Agent(
        id="a1b2c3",
        task_id="a1b2c3",
        title="t",
        prompt="p",
        agent="spender",
        priority="medium",
        status=WORKING,
        attempt=1,
        created_at=0.0,
        cost_usd=cost,
        cost_source="transcript",
        budget_usd=budget,
        budget_warned=warned,
        tokens=Tokens(1, 2, 3, 4),
    )


def profile(max_cost: float = 0.0):  # type: ignore[no-untyped-def]
    text = f'[agents.spender]\ncommand = ["x"]\nmax_cost = {max_cost}\ndaily_budget = 3.0\n[budgets]\ndaily = 10.0\n'
    return parse_config(text, Path("/tmp/c.toml"), check_repo=False)


def test_the_smaller_of_the_task_budget_and_max_cost_holds():
    config = profile(max_cost=5.0)
    spender_profile = config.profiles["spender"]
    assert budgets.attempt_limit(running(1.0, budget=2.5), spender_profile) == (2.5, "spawn --budget")
    assert budgets.attempt_limit(running(1.0), spender_profile) == (5.0, "profile spender max_cost")
    assert budgets.attempt_limit(running(1.0), profile().profiles["spender"]) is None
    fire = budgets.check_agent(running(2.5, budget=2.5), spender_profile, 0.8)
    assert fire is not None and fire.fire == "budget" and fire.data["cost_usd"] == 2.5
    assert fire.note == "spent $2.50 of its $2.50 budget (spawn --budget)"
    warn = budgets.check_agent(running(2.0, budget=2.5), spender_profile, 0.8)
    assert warn is not None and warn.fire is None and warn.kind == "budget_warning"
    assert budgets.check_agent(running(2.0, budget=2.5, warned=True), spender_profile, 0.8) is None  # once
    assert budgets.check_agent(running(1.9, budget=2.5), spender_profile, 0.8) is None
    small = budgets.check_agent(running(0.0011, budget=0.001), spender_profile, 0.8)
    assert small is not None and small.note == "spent $0.0011 of its $0.001 budget (spawn --budget)"


def test_amounts_below_a_dime_keep_the_digits_that_matter():
    shown = [budgets.usd(v) for v in (0, 0.001, 0.0011, 0.05, 0.0123456, 0.099, 0.1, 1234.5, 0.00001)]
    assert shown == ["$0.00", "$0.001", "$0.0011", "$0.05", "$0.0123", "$0.099", "$0.10", "$1,234.50", "<$0.0001"]


def test_daily_budgets_block_per_profile_and_for_all():
    config = profile()
    assert budgets.daily_block(config, "spender", {"spender": 2.9}) is None
    spent = budgets.daily_block(config, "spender", {"spender": 3.0})
    assert spent is not None and spent.text() == "profile spender: daily budget $3.00 spent"
    assert budgets.daily_block(config, "other", {"spender": 3.0}) is None  # another profile may go on
    everyone = budgets.daily_block(config, "other", {"spender": 3.0, "other": 7.0})
    assert everyone is not None and everyone.text() == "daily budget $10.00 spent"
    warned = {b.scope for b in budgets.daily_warnings(config, {"spender": 2.5})}
    assert warned == {"spender"}


# --------------------------------------------------------------------------- end to end


def test_an_agent_over_its_budget_is_fired_with_its_work_kept(jarvis_env, tmp_path):
    spender(jarvis_env, tmp_path)
    sup = jarvis_env.sup()
    agent = sup.spawn("Spend freely #tokens=100000 #hang", agent="spender", budget=1.0)
    loop = loop_of(sup)
    fired = tick_until(loop, lambda: (a := sup.registry.get(agent.id)).status == FIRED and a, what="a budget fire")
    assert fired.fires[-1].reason == "budget" and fired.fires[-1].automatic
    assert fired.fires[-1].ref and git(jarvis_env.repo, "rev-parse", fired.fires[-1].ref)  # work preserved
    [decision] = [
        e for e in sup.registry.events(attempt_id=agent.id, kinds=("policy",)) if e["data"]["decision"] == "fire"
    ]
    data = decision["data"]
    assert data["reason"] == "budget" and data["budget_usd"] == 1.0 and data["cost_usd"] >= 1.0
    assert data["cost_source"] == "transcript" and data["tokens"]["input"] >= 300_000
    loop.tick()  # the final read after it ended
    shown = json.loads(jarvis_env.cli("show", agent.id, "--json").stdout)
    assert shown["cost_source"] == "transcript" and shown["cost_usd"] >= 1.0
    assert shown["tokens"]["output"] >= 30_000 and shown["budget_usd"] == 1.0
    assert "genai-prices" in shown["cost_note"]
    loop.close()


def test_the_80_percent_warning_is_an_event_a_hook_and_a_marker(jarvis_env, tmp_path):
    out = tmp_path / "budget-hook.jsonl"
    hook = f'[hooks]\non_budget = ["python", "-c", "import sys; open(\'{out}\', \'a\').write(sys.stdin.read())"]\n'
    spender(jarvis_env, tmp_path, top=hook)
    sup = jarvis_env.sup()
    # two steps ($0.915), then it waits for an answer: still running, 92 % of $1.00
    agent = sup.spawn("Spend some #tokens=100000 #steps=2 #ask", agent="spender", budget=1.0)
    jarvis_env.wait_status(sup, agent.id, WAITING)
    loop = loop_of(sup)
    warned = tick_until(loop, lambda: (a := sup.registry.get(agent.id)).budget_warned and a, what="the warning")
    assert warned.status == WAITING and warned.cost_usd == pytest.approx(0.915, abs=1e-6)
    [event] = [
        e
        for e in sup.registry.events(attempt_id=agent.id, kinds=("policy",))
        if e["data"]["decision"] == "budget_warning"
    ]
    assert event["data"]["warn_at"] == 0.8 and event["data"]["budget_usd"] == 1.0
    loop.tick()
    assert (
        len(
            [
                e
                for e in sup.registry.events(attempt_id=agent.id, kinds=("policy",))
                if e["data"]["decision"] == "budget_warning"
            ]
        )
        == 1
    )  # said once
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    payload = json.loads(out.read_text().splitlines()[0])
    assert payload["kind"] == "attempt_warning" and payload["id"] == agent.id
    listing = jarvis_env.cli("ls")
    assert "$0.92!" in listing.stdout  # the dashboard's and ls's marker
    sup.fire(agent.id, "dumb")
    loop.close()


def test_a_spent_daily_budget_holds_the_queue_until_raised_or_the_next_day(jarvis_env, tmp_path):
    spender(jarvis_env, tmp_path, top="[budgets]\ndaily = 0.5\n")
    sup = jarvis_env.sup()
    first = sup.spawn("Spend #tokens=100000 #steps=2", agent="spender")
    jarvis_env.wait_status(sup, first.id, DONE)
    loop = loop_of(sup)
    tick_until(loop, lambda: sum(spent_today(sup.registry, time.time()).values()) >= 0.5, what="the spending")
    second = sup.spawn("Another #steps=1", agent="spender")
    assert second.status == QUEUED and second.queue is not None
    assert (second.queue.kind, second.queue.text) == ("budget", "daily budget $0.50 spent")
    assert json.loads(jarvis_env.cli("ls", "--json").stdout)[-1]["queue"]["kind"] == "budget"
    loop.tick()
    assert sup.registry.get(second.id).status == QUEUED  # the engine does not start it either
    decisions = [e["data"]["decision"] for e in sup.registry.events(kinds=("policy",))]
    assert decisions.count("daily_budget_spent") == 1
    queued = sup.registry.get(second.id)
    assert decide(sup, queued).queue.kind == "budget"  # type: ignore[union-attr]
    tomorrow = jarvis_env.sup(clock=lambda: time.time() + 86_400)  # the day rolls over: nothing spent yet
    assert spent_today(tomorrow.registry, tomorrow.clock()) == {} and decide(tomorrow, queued).admit
    raised = jarvis_env.config_path.read_text().replace("daily = 0.5", "daily = 100.0")
    jarvis_env.config_path.write_text(raised)
    sup.reload(load_config(jarvis_env.config_path))
    sup.dispatch()
    jarvis_env.wait_status(sup, second.id, DONE)
    loop.close()


def test_an_estimate_is_written_when_it_crosses_a_budget_smaller_than_its_step(jarvis_env):
    """A $0.001 budget at $1/h is spent in 3.6 s; an estimate written only every cent reached
    it at 36 s (ten times over). Crossing the warning mark or the budget is written at once."""
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("Estimated #hang", agent="demo", budget=0.001).id, WORKING, WAITING)
    t0 = agent.started_at
    assert sup.config.budgets.warn_at == 0.8 and sup.config.profiles["demo"].cost_weight == 1.0
    assert usage.update(sup, t0 + 1.0)  # the first estimate
    assert usage.update(sup, t0 + 2.0) == []  # $0.00056: under the warning mark, under a cent
    assert usage.update(sup, t0 + 3.0)  # $0.00083: past 80 % of the budget
    assert sup.registry.get(agent.id).cost_usd == pytest.approx(3.0 / 3600, abs=1e-6)
    assert usage.update(sup, t0 + 3.3) == []
    assert usage.update(sup, t0 + 4.0)  # $0.0011: past the budget
    over = sup.registry.get(agent.id)
    verdict = budgets.check_agent(over, sup.config.profiles["demo"], 0.8)
    assert verdict is not None and verdict.fire == "budget"
    assert verdict.note == "spent $0.0011 of its $0.001 budget (spawn --budget)"
    sup.fire(agent.id, "dumb")


def test_transcripts_are_read_where_the_agent_wrote_them_not_where_the_engine_would(jarvis_env, tmp_path):
    """CLAUDE_CONFIG_DIR set in the shell that ran `jarvis spawn` only: the agent writes its
    transcripts there, and the engine (another process, another environment) reads them there."""
    text = SPENDER.format(home="unused", more="").replace('CLAUDE_CONFIG_DIR = "unused", ', "")
    jarvis_env.write_config(extra=text)
    mine = tmp_path / "shell-claude"
    assert os.environ["CLAUDE_CONFIG_DIR"] != str(mine)  # this process, the engine here, has another
    spawned = jarvis_env.cli(
        "spawn", "--json", "--agent", "spender", "Spend #tokens=1000 #steps=1", env={"CLAUDE_CONFIG_DIR": str(mine)}
    )
    agent_id = json.loads(spawned.stdout)["id"]
    sup = jarvis_env.sup()
    jarvis_env.wait_status(sup, agent_id, DONE)
    assert list(mine.glob("projects/*/*.jsonl"))  # written under the shell's home
    loop = loop_of(sup)
    got = tick_until(loop, lambda: sup.registry.get(agent_id).tokens, what="the tokens")
    assert got.input > 0 and sup.registry.get(agent_id).cost_source == "transcript"
    loop.close()


def test_an_estimate_is_written_once_it_moved_and_exactly_at_the_agents_end(jarvis_env):
    """cost_weight x hours grows every second; writing every running agent's row at every pass
    made every reader decode the whole fleet again. Nothing is lost: a delta not written is
    counted when it is, and the last pass after the agent ended is exact."""
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("Estimated #hang", agent="demo").id, WORKING, WAITING)
    t0 = agent.started_at
    assert usage.update(sup, t0 + 36) and sup.registry.get(agent.id).cost_usd == pytest.approx(0.01)
    stamp = sup.registry.changes_stamp()
    assert usage.update(sup, t0 + 60) == []  # $0.007 more: under a cent, not worth a write
    assert sup.registry.changes_stamp() == stamp and sup.registry.get(agent.id).cost_usd == pytest.approx(0.01)
    assert usage.update(sup, t0 + 72) and sup.registry.get(agent.id).cost_usd == pytest.approx(0.02)
    sup.fire(agent.id, "dumb")
    ended = sup.registry.get(agent.id)
    runtime = ended.runtime(ended.ended_at or 0) or 0.0
    usage.update(sup, (ended.ended_at or 0) + 5)  # the last pass: exact, and marked read
    final = sup.registry.get(agent.id)
    assert final.cost_usd == pytest.approx(round(runtime / 3600, 6))
    assert sum(spent_today(sup.registry, t0).values()) == pytest.approx(final.cost_usd)
    assert usage.due(sup) == []  # read since it ended: not due again
