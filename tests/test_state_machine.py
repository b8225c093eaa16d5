"""The lifecycle as a table: every (status, event) pair, on a real registry; one writer of status."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from jarvis_tui.engine import lifecycle
from jarvis_tui.engine.lifecycle import TRANSITIONS, Action, Event, IllegalTransition, Status, allowed, transition
from jarvis_tui.engine.models import Agent
from jarvis_tui.engine.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [(status, event) for status in Status for event in Event]


def seeded(tmp_path: Path, status: Status) -> tuple[Registry, Agent]:
    reg = Registry(tmp_path / "registry.db")
    with reg.transaction() as conn:
        reg.create_task(conn, task_id="a1b2c3", title="t", prompt="p", priority="medium", profile="demo", now=1.0)
        reg.create_attempt(
            conn, attempt_id="a1b2c3", task_id="a1b2c3", attempt=1, profile="demo", status=status, now=1.0
        )
    return reg, reg.get("a1b2c3")


def snapshot(reg: Registry) -> tuple[object, ...]:
    rows = reg.conn.execute("SELECT * FROM attempts").fetchall()
    events = reg.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return tuple(tuple(r) for r in rows), events


@pytest.mark.parametrize("status, event", PAIRS, ids=[f"{s.value}-{e.value}" for s, e in PAIRS])
def test_every_status_event_pair(tmp_path, status, event):
    reg, agent = seeded(tmp_path, status)
    heard: list[tuple[str, str]] = []
    allowed_pair = lifecycle.can(status, event)
    before = snapshot(reg)
    if not allowed_pair:
        with pytest.raises(IllegalTransition, match=f"{event.value} from {status.value}"):
            transition(reg, agent, event, reason="x", now=2.0, notify=lambda a, o, n, r: heard.append((o, n)))
        assert snapshot(reg) == before and heard == []  # refused: nothing written, nobody told
        return
    moved = transition(reg, agent, event, reason="because", now=2.0, notify=lambda a, o, n, r: heard.append((o, n)))
    expected = lifecycle.target(status, event)
    assert moved is not None and moved.status == expected and moved.status_reason == "because"
    assert heard == [(status.value, expected.value)]
    [record] = reg.events(attempt_id=agent.id, kinds=("status",))
    assert record["data"].items() >= {"old": status.value, "new": expected.value, "event": event.value}.items()
    # compare-and-set: the same event from the status read before is now a lost race, a no-op
    assert transition(reg, agent, event, reason="again", now=3.0) is None
    assert reg.get(agent.id).status_reason == "because"


def test_the_registry_has_no_other_way_to_change_a_status(tmp_path):
    reg, agent = seeded(tmp_path, Status.WORKING)
    with pytest.raises(KeyError, match=r"status changes go through lifecycle\.transition"):
        reg.update_attempt(agent.id, status="done")
    assert reg.get(agent.id).status == Status.WORKING


def test_only_the_lifecycle_module_writes_status():
    """No module but lifecycle.py names the status column in a write (an AST scan of the engine)."""
    offenders = []
    for path in sorted((ROOT / "jarvis_tui").rglob("*.py")):
        if path.name == "lifecycle.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.search(r"\bSET\b[^;]*\bstatus\s*=", node.value, re.IGNORECASE | re.DOTALL)
            ):
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("write_row", "update_attempt"):
                for kw in node.keywords:
                    if kw.arg == "status":
                        offenders.append(f"{path.name}:{node.lineno} status=")
                    if kw.arg == "columns" and "STATUS_COLUMNS" in ast.unparse(kw.value):
                        offenders.append(f"{path.name}:{node.lineno} STATUS_COLUMNS")
    assert offenders == []


def test_readme_status_table_matches_the_lifecycle():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- transitions:begin") : readme.index("<!-- transitions:end -->")]
    rows = re.findall(r"^ *\| ((?:`[a-z]+`(?:, )?)+) \| `([a-z_]+)` \| `([a-z]+)` \| (.+?) \|$", section, re.MULTILINE)
    listed = [(src, event, to, doc) for sources, event, to, doc in rows for src in re.findall(r"`([a-z]+)`", sources)]
    assert sorted(listed) == sorted((t.source.value, t.event.value, t.target.value, t.doc) for t in TRANSITIONS)
    statuses = re.findall(
        r"^ *\| `([a-z]+)` \| ",
        readme[readme.index("<!-- statuses:begin -->") : readme.index("<!-- statuses:end -->")],
        re.MULTILINE,
    )
    assert statuses == [s.value for s in Status]


ALLOWED = {  # action -> statuses where it is allowed (for a started, not removed agent)
    Action.FIRE: {"queued", "blocked", "starting", "working", "waiting", "held"},
    Action.RETRY: {"done", "failed", "fired", "merged"},
    Action.REMOVE: {"done", "failed", "fired", "merged"},
    Action.SEND: {"working", "waiting"},
    Action.ATTACH: {"starting", "working", "waiting"},
    Action.MERGE: {"done"},
    Action.RELEASE: {"held"},
}


@pytest.mark.parametrize("action", list(ALLOWED))
def test_action_rules(action):
    for status in Status:
        agent = Agent(
            id="a1b2c3",
            task_id="a1b2c3",
            title="t",
            prompt="p",
            agent="demo",
            priority="low",
            status=status,
            attempt=1,
            created_at=0.0,
            branch="jarvis/t-a1b2c3",
            pane_id="%1",
            tmux_session="jarvis-a1b2c3",
        )
        why = allowed(agent, action)
        assert (why is None) == (status.value in ALLOWED[action]), (action, status, why)
        if why is not None:
            assert agent.id in why and len(why.splitlines()) == 1
    done = Agent(
        id="a1b2c3",
        task_id="a1b2c3",
        title="t",
        prompt="p",
        agent="demo",
        priority="low",
        status=Status.FAILED,
        attempt=1,
        created_at=0.0,
        branch="b",
    )
    assert allowed(done, Action.MERGE) is not None and allowed(done, Action.MERGE, force_ended=True) is None


def test_rm_or_retry_during_a_fire_says_the_fire_is_under_way():
    from dataclasses import replace

    from jarvis_tui.engine.models import Claim

    working = Agent(
        id="a1b2c3", task_id="a1b2c3", title="t", prompt="p", agent="demo", priority="low",
        status=Status.WORKING, attempt=1, created_at=0.0,
    )  # fmt: skip
    assert allowed(working, Action.REMOVE) == "agent a1b2c3 is working; fire it first"
    firing = replace(working, claim=Claim(op="fire", token="t", pid=1, pid_started=None, host="h", at=0.0))
    for action in (Action.REMOVE, Action.RETRY):
        assert allowed(firing, action) == "agent a1b2c3 is already being fired; wait for it to end"
