"""Orchestration as decisions and records: waiting conditions, fan-in admission, batch checks,
findings, the dispatch preview, tickets, held tasks and connected orchestrators.

Pure functions get plain records; the rest a real registry (no tmux: nothing here starts).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from jarvis_tui.engine import batch, dispatch, notes, orchestrators
from jarvis_tui.engine.admission import admit, dependency_state
from jarvis_tui.engine.config import parse_config
from jarvis_tui.engine.errors import UnknownAgent, UsageError
from jarvis_tui.engine.launch import branch_name
from jarvis_tui.engine.lifecycle import ENDED
from jarvis_tui.engine.models import (
    BLOCKED,
    DONE,
    FAILED,
    FIRED,
    HELD,
    MERGED,
    QUEUED,
    WAITING,
    WORKING,
    Agent,
    Note,
)
from jarvis_tui.engine.registry import Registry
from jarvis_tui.engine.resources import SystemReading
from jarvis_tui.engine.schema import MIGRATIONS
from jarvis_tui.engine.spawn import split_after, ticket_problem
from jarvis_tui.engine.waiting import EXIT_OTHERWISE, EXIT_REACHED, parse_until, reached


def make(id: str = "a1", *, status: str = QUEUED, **fields) -> Agent:
    return Agent(
        id=id,
        task_id=fields.pop("task_id", id),
        title=fields.pop("title", id),
        prompt="p",
        agent="demo",
        priority="medium",
        status=status,
        attempt=1,
        created_at=fields.pop("created_at", 0.0),
        **fields,
    )


def config(max_agents: int = 5):
    return parse_config(
        f'[supervisor]\nmax_agents = {max_agents}\n[agents.demo]\ncommand = ["python", "{{prompt}}"]\n',
        Path("/nowhere/config.toml"),
        check_repo=False,
    )


# --------------------------------------------------------------------------- waiting


def test_until_names_sets_of_statuses_and_refuses_unknown_ones():
    assert parse_until(None) == frozenset(s.value for s in ENDED)
    assert parse_until("done") == {DONE, MERGED}
    assert parse_until(["waiting,failed", "fired"]) == {WAITING, FAILED, FIRED}
    with pytest.raises(UsageError, match="unknown state 'finished' for --until"):
        parse_until("finished")


def test_reached_all_any_and_ended_otherwise():
    done = parse_until("done")
    a, b = make("a", status=DONE), make("b", status=WORKING)
    assert reached([a, b], done) is None  # b may still get there
    assert reached([a, b], done, any_=True).code == EXIT_REACHED
    assert reached([a, make("b", status=MERGED)], done).code == EXIT_REACHED
    failed = reached([make("a", status=WORKING), make("b", status=FAILED)], done)
    assert (failed.code, failed.otherwise) == (EXIT_OTHERWISE, ["b"])  # fail fast: "all done" is impossible now
    assert reached([make("a", status=WORKING), make("b", status=FAILED)], done, any_=True) is None  # a may
    assert reached([make("a", status=FIRED), make("b", status=FAILED)], done, any_=True).code == EXIT_OTHERWISE
    # a retry on its way, a merge still to come, a blocked dependant whose dependency is being retried
    assert reached([make("b", status=FAILED)], done, retrying={"b"}) is None
    assert reached([make("a", status=DONE)], parse_until("merged")) is None
    blocked = make("c", status=BLOCKED, after_tasks=["b"])
    assert reached([blocked], done).code == EXIT_OTHERWISE
    assert reached([blocked], done, retrying={"b"}) is None
    assert reached([make("h", status=HELD)], done) is None  # a person may release it
    assert reached([make("w", status=WAITING)], parse_until("waiting")).code == EXIT_REACHED


# --------------------------------------------------------------------------- fan-in


def test_fan_in_starts_when_all_are_done_and_blocks_naming_which_failed():
    cfg = config()
    agg = make("agg", after_tasks=["a", "b", "c"])
    latest = {t: make(t, status=DONE) for t in "abc"}
    latest["b"] = make("b", status=WORKING)
    waiting = admit(agg, cfg, [], now=0, tasks_latest=latest)
    assert (waiting.admit, waiting.block, waiting.reason) == (False, False, "waiting for 1 of 3 tasks: b (working)")
    latest["b"] = make("b", status=MERGED)  # merged is done, and more
    assert admit(agg, cfg, [], now=0, tasks_latest=latest).admit
    latest["a"] = make("a", status=FAILED, status_reason="exited with code 3")
    latest["c"] = make("c", status=FIRED, status_reason="fired: derailed")
    blocked = dependency_state(agg, latest)
    assert blocked.block and blocked.reason == "dependencies a failed (exited with code 3), c fired (derailed)"
    assert blocked.queue.data["blocked_by"] == [{"task": "a", "status": "failed"}, {"task": "c", "status": "fired"}]
    old_style = make("x", after_task_id="a")  # records from before fan-in named one dependency
    assert old_style.dependencies == ["a"]


def test_after_references_split_on_commas_and_repeat_once():
    assert split_after(["ab12,cd34", " ef56 ", "ab12"]) == ["ab12", "cd34", "ef56"]
    assert split_after(None) == []


def test_a_batch_width_holds_its_tasks_back_not_others():
    cfg = config()
    running = [make("r1", status=WORKING, batch="b1"), make("r2", status=WORKING, batch="b1")]
    mine = make("q", batch="b1", batch_width=2)
    decision = admit(mine, cfg, running, now=0)
    assert (decision.queue.kind, decision.reason) == ("batch", "batch b1: 2 of its tasks running (width 2)")
    assert admit(make("other"), cfg, running, now=0).admit


# --------------------------------------------------------------------------- tickets


def test_a_branch_names_its_ticket_and_tickets_are_ref_safe():
    agent = make("3fa2c1", title="Fix the login page!", ticket="PROJ-123")
    assert branch_name(agent) == "jarvis/PROJ-123-fix-the-login-page-3fa2c1"
    assert branch_name(make("3fa2c1", title="Fix it")) == "jarvis/fix-it-3fa2c1"
    assert ticket_problem("GH-42") is None and ticket_problem("v1.2_rc") is None
    for bad in ("a..b", "x.lock", "-x", "has space", "a/b", "end.", "#12", "x" * 65, ""):
        assert ticket_problem(bad), bad
    assert subprocess.run(["git", "check-ref-format", "refs/heads/" + branch_name(agent)]).returncode == 0


# --------------------------------------------------------------------------- findings


def test_findings_render_for_the_aggregator():
    a = make("a1", title="Analyse  the\nauth module", status=DONE)
    b = make("b2", title="Analyse billing", status=DONE)
    found = [
        Note(1, "a1", "a1", 0.0, "risk", "token refresh is untested"),
        Note(2, "a1", None, 0.0, None, "first line\nsecond line\n\nafter a gap\n"),
    ]
    assert notes.render([(a, found), (b, [])]) == (
        "## Findings from task a1: Analyse the auth module (done)\n"
        "- [risk] token refresh is untested\n"
        "- first line\n"
        "  second line\n"
        "\n"
        "  after a gap\n"
        "\n"
        "## Findings from task b2: Analyse billing (done)\n"
        "(no findings recorded)"
    )


def test_notes_are_checked(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("held task", agent="demo", hold=True)
    for text, tag, message in (
        ("  ", None, "the note is empty"),
        ("x\x00y", None, "NUL"),
        ("x" * (64 * 1024 + 1), None, "over 64 KiB"),
        ("ok", "two words", "tag 'two words'"),
    ):
        with pytest.raises(UsageError, match=message):
            sup.add_note(agent.id, text, tag=tag)
    note = sup.add_note(agent.id, "keep the v1 API", tag="api", author="cli")
    assert [n.to_json()["text"] for n in sup.notes(task=agent.id, tag="api")] == ["keep the v1 API"]
    assert sup.notes(tag="risk") == [] and note.attempt_id is None
    assert sup.details(sup.get(agent.id))["notes"][0]["text"] == "keep the v1 API"
    with pytest.raises(UnknownAgent):
        sup.add_note("ffffff", "to nobody")


# --------------------------------------------------------------------------- batches, checked


def tasks_in(sup) -> int:
    return sup.registry.query("SELECT COUNT(*) AS n FROM tasks")[0]["n"]


@pytest.mark.parametrize(
    "data, error, message",
    [
        ('[{"prompt": "a"', batch.BatchError, r"not valid JSON: .*\(line 1, column \d+\)"),
        (
            {"tasks": [{"prompt": "a"}, {"prompt": "b", "agent": "nope"}]},
            batch.BatchError,
            r"tasks\[1\]: unknown agent profile 'nope'",
        ),
        (
            {
                "tasks": [
                    {"name": "x", "prompt": "a", "after": ["z"]},
                    {"name": "y", "prompt": "b", "after": ["x"]},
                    {"name": "z", "prompt": "c", "after": ["y"]},
                ]
            },
            batch.BatchError,
            r"a cycle in after: tasks\[0\] after tasks\[2\] after tasks\[1\] after tasks\[0\]; nothing was created",
        ),
        (
            {"strategy": "sequential", "tasks": [{"prompt": "a", "after": [1]}, {"prompt": "b"}]},
            batch.BatchError,
            r"a cycle in after: tasks\[0\] after tasks\[1\] after tasks\[0\]",
        ),  # the order adds 1 after 0
        ({"tasks": [{"prompt": "a", "promt": "typo"}]}, batch.BatchError, r"tasks\[0\]: unknown key 'promt'"),
        ({"tasks": [{"prompt": "a", "after": [0]}]}, batch.BatchError, r"tasks\[0\]: after 0: not another task"),
        ({"tasks": [{"prompt": "a", "after": ["ffffff"]}]}, UnknownAgent, r"tasks\[0\]: after: no agent with id"),
        ({"strategy": "fast", "tasks": [{"prompt": "a"}]}, batch.BatchError, "unknown strategy 'fast'"),
        ({"tasks": []}, batch.BatchError, "non-empty list"),
        ({"tasks": [{"prompt": "a", "ticket": "a b"}]}, batch.BatchError, r"tasks\[0\]: ticket 'a b' cannot go"),
        ({"base": "no-such-branch", "tasks": [{"prompt": "a"}]}, batch.BatchError, "base 'no-such-branch' is not"),
        (
            {"tasks": [{"prompt": "a", "name": "x"}, {"prompt": "b", "name": "x"}]},
            batch.BatchError,
            r"tasks\[1\]: name 'x' is already tasks\[0\]'s",
        ),
    ],
)
def test_a_bad_batch_is_refused_whole_naming_the_task(jarvis_env, data, error, message):
    sup = jarvis_env.sup()
    with pytest.raises(error, match=message):
        sup.spawn_batch(batch.load(data) if isinstance(data, str) else data)
    assert tasks_in(sup) == 0 and sup.registry.events() == []  # nothing half-made, not even an event


def test_a_held_batch_records_dependencies_base_and_order(jarvis_env):
    sup = jarvis_env.sup()
    spawned = sup.spawn_batch(
        {
            "strategy": "sequential",
            "base": "main",
            "tasks": [
                {"name": "x", "prompt": "one", "hold": True, "ticket": "T-1", "kind": "analysis"},
                {"prompt": "two", "hold": True, "priority": "high"},
                {"prompt": "three", "hold": True, "after": ["x"]},
            ],
        }
    )
    first, second, third = spawned.agents
    assert [a.status for a in spawned.agents] == [HELD] * 3
    assert (first.dependencies, second.dependencies, third.dependencies) == ([], [first.id], [first.id, second.id])
    assert {a.batch for a in spawned.agents} == {spawned.batch} and {a.base for a in spawned.agents} == {"main"}
    assert (first.ticket, first.kind, second.priority) == ("T-1", "analysis", "high")
    assert first.created_at < second.created_at < third.created_at  # the file's order, for equal priorities
    assert spawned.to_json()["agents"][2]["after_tasks"] == [first.id, second.id]


# --------------------------------------------------------------------------- the dispatch preview


def test_preview_simulates_the_starts_before_each_and_writes_nothing(jarvis_env):
    jarvis_env.write_config(max_agents=2)
    sup = jarvis_env.sup(readings=lambda: SystemReading(cpu=10, ram=10, at=0))
    reg = sup.registry
    with reg.transaction() as conn:
        for i, (task, status, after) in enumerate(
            [
                ("aaaaa1", WORKING, None),
                ("aaaaa2", QUEUED, None),
                ("aaaaa3", QUEUED, None),
                ("aaaaa4", QUEUED, "aaaaa1"),
            ]
        ):
            reg.create_task(
                conn,
                task_id=task,
                title=task,
                prompt="p",
                priority="medium",
                profile="demo",
                now=float(i + 1),
                after=[after] if after else None,
            )
            reg.create_attempt(
                conn, attempt_id=task, task_id=task, attempt=1, profile="demo", status=status, now=float(i + 1)
            )
    before = reg.conn.execute("SELECT * FROM attempts ORDER BY id").fetchall()
    plan = sup.dispatch_preview()
    assert plan["would_start"] == ["aaaaa2"] and (plan["running"], plan["max_agents"]) == (1, 2)
    why = {e["id"]: (e["would_start"], e["queue"] and e["queue"]["kind"]) for e in plan["queue"]}
    assert why == {"aaaaa2": (True, None), "aaaaa3": (False, "capacity"), "aaaaa4": (False, "dependency")}
    assert [tuple(r) for r in reg.conn.execute("SELECT * FROM attempts ORDER BY id").fetchall()] == [
        tuple(r) for r in before
    ]
    assert isinstance(dispatch.preview(sup)[0], dispatch.Preview)


# --------------------------------------------------------------------------- records


def test_old_single_dependencies_move_into_the_fan_in_table(tmp_path):
    path = tmp_path / "registry.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:5]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 5")
    conn.execute(
        "INSERT INTO tasks (id, title, prompt, priority, profile, created_at) VALUES "
        "('aaaaaa', 't', 'p', 'medium', 'demo', 1)"
    )
    conn.execute(
        "INSERT INTO tasks (id, title, prompt, priority, profile, created_at, after_task_id) VALUES "
        "('bbbbbb', 't', 'p', 'medium', 'demo', 2, 'aaaaaa')"
    )
    for task in ("aaaaaa", "bbbbbb"):
        conn.execute(
            "INSERT INTO attempts (id, task_id, attempt, profile, status, created_at) VALUES (?, ?, 1, "
            "'demo', 'queued', 1)",
            (task, task),
        )
    conn.commit()
    conn.close()
    reg = Registry(path)
    assert reg.schema_version == len(MIGRATIONS)
    assert reg.get("bbbbbb").dependencies == ["aaaaaa"] and reg.get("bbbbbb").to_json()["after"] == "aaaaaa"
    assert reg.get("aaaaaa").dependencies == []
    reg.close()


def test_orchestrators_connected_ignores_and_clears_dead_processes(tmp_path):
    reg = Registry(tmp_path / "registry.db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orchestrators.register(reg, "ghost", "0", now=1.0, pid=dead.pid)
    assert orchestrators.connected(reg) == []  # its process is gone: never shown
    orchestrators.register(reg, "claude-code", "2.1", now=2.0)
    assert [(o.client, o.pid) for o in orchestrators.connected(reg)] == [("claude-code", os.getpid())]
    assert reg.query("SELECT COUNT(*) AS n FROM orchestrators")[0]["n"] == 1  # the ghost's row went
    orchestrators.touch(reg, "spawn", now=3.0)
    [me] = orchestrators.connected(reg)
    assert (me.calls, me.last_tool, me.last_call_at) == (1, "spawn", 3.0)
    assert json.loads(json.dumps(me.to_json()))["client"] == "claude-code"
    orchestrators.unregister(reg)
    assert orchestrators.connected(reg) == []
    reg.close()
