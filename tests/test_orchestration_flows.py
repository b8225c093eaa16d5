"""An orchestrator's story through the real CLI: batches and their strategies, a map-reduce
fan-in whose aggregator gets the workers' findings, waiting with its exit codes, held tickets,
the dispatch preview, and malformed batches that create nothing.

Real tmux (a private socket per test), real git, the demo agent. The engine loop is ticked
here (as the dashboard would) so the queue moves; ``JARVIS_NO_ENGINE`` keeps the CLI from
starting a headless one of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from itertools import pairwise

import pytest

from jarvis_tui.engine.loop import EngineLoop
from jarvis_tui.engine.models import ACTIVE, BLOCKED, DONE, FIRED, HELD, QUEUED, WORKING
from jarvis_tui.engine.notes import render

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_background_engine(monkeypatch):
    monkeypatch.setenv("JARVIS_NO_ENGINE", "1")


def tick_until(
    loop: EngineLoop,
    predicate: Callable[[], bool],
    *,
    timeout: float = 40.0,
    what: str = "condition",
    each: Callable[[], None] = lambda: None,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        loop.tick()
        each()
        if predicate():
            return
        if time.monotonic() > deadline:
            rows = [(a.id, a.status, a.status_reason, a.queue_reason) for a in loop.sup.agents(include_all=True)]
            raise AssertionError(f"timed out waiting for {what}: {rows}")
        time.sleep(0.1)


def cli_json(env, *args: str, input: str | None = None, code: int = 0):
    proc = env.cli(*args, "--json", input=input)
    assert proc.returncode == code, proc.stderr
    return json.loads(proc.stdout)


def batch_of(strategy: str, n: int = 4, steps: int = 3) -> str:
    return json.dumps(
        {
            "strategy": strategy,
            "tasks": [{"title": f"Part {i}", "prompt": f"part {i} #steps={steps}", "agent": "demo"} for i in range(n)],
        }
    )


# --------------------------------------------------------------------------- batches


def test_batch_parallel_queues_all_at_once_and_admission_starts_them(jarvis_env):
    result = cli_json(jarvis_env, "spawn", "--batch", "-", input=batch_of("parallel"))
    assert result["strategy"] == "parallel" and result["width"] is None and len(result["agents"]) == 4
    assert all(a["status"] in ("starting", "working", "done") for a in result["agents"])  # max_agents 5: all now
    assert len({a["batch"] for a in result["agents"]}) == 1
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    tick_until(loop, lambda: all(sup.get(a["id"]).status == DONE for a in result["agents"]), what="all done")
    loop.close()


def test_batch_sequential_runs_each_after_the_previous(jarvis_env):
    result = cli_json(jarvis_env, "spawn", "--batch", "-", input=batch_of("sequential", steps=2))
    ids = [a["id"] for a in result["agents"]]
    assert result["agents"][0]["status"] in ("starting", "working", "done")
    assert [a["status"] for a in result["agents"][1:]] == [QUEUED] * 3
    assert [a["after_tasks"] for a in result["agents"]] == [[], ids[:1], ids[1:2], ids[2:3]]
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    tick_until(loop, lambda: all(sup.get(i).status == DONE for i in ids), what="all four done")
    loop.close()
    agents = [sup.get(i) for i in ids]
    assert all(b.started_at >= a.ended_at for a, b in pairwise(agents))  # one after the other


def test_batch_auto_keeps_the_width_it_could_start_with(jarvis_env):
    sup = jarvis_env.sup()
    busy = [sup.spawn(f"busy {i} #hang", agent="demo") for i in range(3)]  # 3 of max_agents 5 taken now
    # each task runs ~1s: long enough that, without the width, the last two would join the first two
    result = cli_json(jarvis_env, "spawn", "--batch", "-", input=batch_of("auto", steps=20))
    ids = {a["id"] for a in result["agents"]}
    assert result["width"] == 2
    assert [a["status"] in ACTIVE for a in result["agents"]] == [True, True, False, False]
    assert [a["queue"]["kind"] for a in result["agents"][2:]] == ["batch", "batch"]
    for agent in busy:  # capacity frees up; the batch still runs at most 2 at once
        sup.fire(agent.id, "derailed")
    seen: dict[str, int] = {"most": 0}

    def count() -> None:
        agents = [sup.get(i) for i in ids]
        seen["most"] = max(seen["most"], sum(1 for a in agents if a.status in ACTIVE))

    loop = EngineLoop(sup)
    tick_until(loop, lambda: all(sup.get(i).status == DONE for i in ids), what="the batch done", each=count)
    loop.close()
    assert seen["most"] <= 2


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"tasks": [{"prompt": "a"}', "batch: not valid JSON"),
        (
            '{"tasks": [{"prompt": "a", "agent": "demo"}, {"prompt": "b", "agent": "claude"}]}',
            "tasks[1]: unknown agent profile 'claude'",
        ),
        (
            '{"tasks": [{"name": "a", "prompt": "a", "after": ["b"]}, {"name": "b", "prompt": "b", "after": ["a"]}]}',
            "a cycle in after: tasks[0] after tasks[1] after tasks[0]",
        ),
    ],
)
def test_a_malformed_batch_creates_nothing(jarvis_env, text, message):
    proc = jarvis_env.cli("spawn", "--batch", "-", input=text)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert json.loads(jarvis_env.cli("ls", "--all", "--json", check=True).stdout) == []
    assert not jarvis_env.tmux.is_alive() or jarvis_env.tmux.sessions() == []
    worktrees = jarvis_env.state_dir / "worktrees"
    assert not worktrees.exists() or list(worktrees.iterdir()) == []


# --------------------------------------------------------------------------- fan-in and findings


def test_fan_in_starts_after_all_three_with_their_findings(jarvis_env):
    ids = []
    for name, steps, note in (("A", 2, "auth_uses_v1"), ("B", 4, "billing_has_no_tests"), ("C", 6, "cache_is_fine")):
        ids.append(
            jarvis_env.cli(
                "spawn",
                "-a",
                "demo",
                "-t",
                f"Analyse {name}",
                f"analyse {name} #steps={steps} #note={note}",
                check=True,
            ).stdout.strip()
        )
    prompt = "Aggregate what they found:\n{findings}\n#steps=1"
    agg = cli_json(
        jarvis_env, "spawn", "-a", "demo", "-t", "Aggregate", "--after", ids[0], "--after", f"{ids[1]},{ids[2]}", prompt
    )
    assert agg["status"] == QUEUED and agg["after_tasks"] == ids
    assert agg["queue"]["kind"] == "dependency"
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    tick_until(loop, lambda: sup.get(agg["id"]).status == DONE, what="the aggregator done")
    loop.close()
    deps = [sup.get(i) for i in ids]
    aggregator = sup.get(agg["id"])
    assert aggregator.started_at >= max(d.ended_at for d in deps)  # only once all three were done
    findings = render([(d, [n for n in sup.notes(task=d.id)]) for d in deps])
    assert findings == "\n\n".join(
        f"## Findings from task {d.id}: Analyse {name} (done)\n- [demo] {text}"
        for d, name, text in zip(deps, "ABC", ("auth uses v1", "billing has no tests", "cache is fine"), strict=True)
    )
    expected = prompt.replace("{findings}", findings).encode()
    assert sup.paths.prompt(aggregator.id).read_bytes() == expected
    assert (jarvis_env.state_dir / "worktrees" / aggregator.id / "demo_prompt.txt").read_bytes() == expected
    assert sup.paths.findings(aggregator.id).read_bytes() == findings.encode() + b"\n"
    assert [n["text"] for n in cli_json(jarvis_env, "notes")] == [
        "auth uses v1",
        "billing has no tests",
        "cache is fine",
    ]
    assert sup.get(ids[0]).prompt == "analyse A #steps=2 #note=auth_uses_v1"  # a task without after: untouched


def test_fan_in_blocks_naming_the_one_that_failed(jarvis_env):
    ids = [
        jarvis_env.cli(
            "spawn", "-a", "demo", "-t", f"Part {i}", f"part {i} #steps=2" + (" #exit=3" if i == 1 else ""), check=True
        ).stdout.strip()
        for i in range(3)
    ]
    agg = cli_json(jarvis_env, "spawn", "-a", "demo", "--after", ",".join(ids), "Aggregate {findings}")
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    tick_until(loop, lambda: sup.get(agg["id"]).status == BLOCKED, what="blocked")
    loop.close()
    blocked = sup.get(agg["id"])
    assert blocked.status_reason.startswith(f"dependency {ids[1]} failed")
    assert blocked.started_at is None and blocked.worktree is None
    # waiting for it to be done can no longer succeed: exit 1 at once (no engine running now)
    proc = jarvis_env.cli("wait", agg["id"], "--until", "done", "--timeout", "20")
    assert proc.returncode == 1 and "can no longer reach done" in proc.stderr


# --------------------------------------------------------------------------- waiting


def test_wait_exit_codes_without_any_engine(jarvis_env):
    ok = jarvis_env.cli("spawn", "-a", "demo", "fine #steps=2", check=True).stdout.strip()
    bad = jarvis_env.cli("spawn", "-a", "demo", "broken #steps=1 #exit=3", check=True).stdout.strip()
    hang = jarvis_env.cli("spawn", "-a", "demo", "forever #hang", check=True).stdout.strip()
    asks = jarvis_env.cli("spawn", "-a", "demo", "question #steps=1 #ask", check=True).stdout.strip()
    done = cli_json(jarvis_env, "wait", ok, "--until", "done")
    assert (done["outcome"], done["exit_code"], done["agents"][0]["status"]) == ("reached", 0, DONE)
    failed = cli_json(jarvis_env, "wait", bad, ok, "--until", "done", code=1)
    assert (failed["outcome"], failed["otherwise"]) == ("ended_otherwise", [bad])
    timeout = cli_json(jarvis_env, "wait", hang, "--timeout", "0.5", code=124)
    assert (timeout["outcome"], timeout["agents"][0]["status"]) == ("timeout", WORKING)
    anyone = cli_json(jarvis_env, "wait", hang, bad, "--any")
    assert anyone["outcome"] == "reached" and anyone["any"] is True
    waiting = cli_json(jarvis_env, "wait", asks, "--until", "waiting", "--timeout", "20")
    assert waiting["agents"][0]["waiting_kind"] == "question"
    assert jarvis_env.cli("wait", "ffffff").returncode == 3
    assert jarvis_env.cli("wait", ok, "--until", "finished").returncode == 2
    jarvis_env.cli("fire", hang, "-r", "derailed", check=True)
    jarvis_env.cli("fire", asks, "-r", "derailed", check=True)


# --------------------------------------------------------------------------- held tickets, the preview


def test_held_tickets_wait_for_release_and_name_their_branches(jarvis_env):
    held = cli_json(
        jarvis_env, "spawn", "-a", "demo", "--hold", "--ticket", "PROJ-9", "-t", "Billing migration", "migrate #steps=1"
    )
    assert (held["status"], held["ticket"], held["branch"]) == (HELD, "PROJ-9", None)
    listing = jarvis_env.cli("ls", check=True).stdout
    assert "held" in listing and "PROJ-9" in listing
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    for _ in range(3):
        loop.tick()
    loop.close()
    assert sup.get(held["id"]).status == HELD  # the engine never dispatches it
    plan = cli_json(jarvis_env, "dispatch", "--dry-run")
    assert plan["held"] == [held["id"]] and plan["queue"] == []
    released = cli_json(jarvis_env, "release", held["id"])
    assert released[0]["status"] in ("starting", "working", "done") and released[0]["released"] is True
    assert released[0]["branch"] == f"jarvis/PROJ-9-billing-migration-{held['id']}"
    again = jarvis_env.cli("release", held["id"])
    assert again.returncode == 1 and "not held" in again.stderr
    cancelled = cli_json(jarvis_env, "spawn", "-a", "demo", "--hold", "kept for a person")
    fired = cli_json(jarvis_env, "fire", cancelled["id"], "-r", "derailed")
    assert (fired["status"], fired["branch"]) == (FIRED, None)
    cli_json(jarvis_env, "wait", held["id"], "--until", "done", "--timeout", "30")


def test_dispatch_dry_run_says_why_and_changes_nothing(jarvis_env):
    jarvis_env.write_config(max_agents=1)
    hang = jarvis_env.cli("spawn", "-a", "demo", "forever #hang", check=True).stdout.strip()
    queued = [
        jarvis_env.cli("spawn", "-a", "demo", "-p", p, f"later {p}", check=True).stdout.strip() for p in ("low", "high")
    ]
    sup = jarvis_env.sup()
    before = [sup.get(i).to_json() for i in queued]  # (it observes running agents, as ls does)
    plan = cli_json(jarvis_env, "dispatch", "--dry-run")
    assert plan["would_start"] == [] and [e["id"] for e in plan["queue"]] == queued[::-1]  # high first
    assert {e["queue"]["kind"] for e in plan["queue"]} == {"capacity"}
    text = jarvis_env.cli("dispatch", "--dry-run", check=True).stdout
    assert f"{queued[1]}  waits" in text and "max_agents 1 reached" in text
    assert [sup.get(i).to_json() for i in queued] == before
    jarvis_env.cli("fire", hang, "-r", "derailed", check=True)
    plan = cli_json(jarvis_env, "dispatch", "--dry-run")
    assert plan["would_start"] == [queued[1]]  # the slot goes to the high one; the low one waits for it
    assert plan["queue"][1]["queue"]["kind"] == "capacity"
    started = cli_json(jarvis_env, "dispatch")
    assert [a["id"] for a in started] == [queued[1]]
    for ident in queued:
        jarvis_env.cli("fire", ident, "-r", "derailed")


def test_branch_context_workers_start_from_the_orchestrators_branch(jarvis_env):
    from conftest import git

    git(jarvis_env.repo, "checkout", "-q", "-b", "feature/login")
    (jarvis_env.repo / "login.py").write_text("def login(): ...\n")
    git(jarvis_env.repo, "add", "login.py")
    git(jarvis_env.repo, "commit", "-q", "-m", "the orchestrator's work so far")
    tip = git(jarvis_env.repo, "rev-parse", "HEAD")
    git(jarvis_env.repo, "checkout", "-q", "main")
    spawned = cli_json(
        jarvis_env,
        "spawn",
        "--batch",
        "-",
        "--base",
        "feature/login",
        input=json.dumps({"tasks": [{"prompt": "extend the login #steps=1", "agent": "demo"}]}),
    )
    [agent] = spawned["agents"]
    assert spawned["base"] == agent["base"] == "feature/login"
    cli_json(jarvis_env, "wait", agent["id"], "--until", "done", "--timeout", "30")
    sup = jarvis_env.sup()
    assert sup.get(agent["id"]).base_commit == tip
    assert (jarvis_env.state_dir / "worktrees" / agent["id"] / "login.py").exists()
    review = cli_json(jarvis_env, "review", agent["id"])
    assert review["into"] == "feature/login"  # its work goes back where it came from
    refused = jarvis_env.cli("spawn", "-a", "demo", "--base", "no/such/branch", "x")
    assert refused.returncode == 2 and "base 'no/such/branch' is not a branch or commit" in refused.stderr
