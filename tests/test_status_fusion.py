"""Status fusion: an agent's own report beats its screen, which beats silence; a report older
than the newest output does not pin a stale state. Pure: one agent, one observation, an
injected clock (:func:`jarvis_tui.engine.reconcile.classify`)."""

from __future__ import annotations

import pytest

from jarvis_tui.engine.config_schema import Profile
from jarvis_tui.engine.lifecycle import Event
from jarvis_tui.engine.models import WAITING, WORKING, Agent
from jarvis_tui.engine.observe import Observation
from jarvis_tui.engine.reconcile import REPORT_GRACE, classify
from jarvis_tui.engine.tmux import Pane

PROFILE = Profile(
    name="tool",
    command=("tool",),
    waiting_patterns=(r"Allow\?",),
    busy_patterns=(r"esc to interrupt",),
    waiting_after=60.0,
)
PANE = Pane(session="jarvis-a1b2c3", pane_id="%1", pid=1, dead=False, dead_status=None)
ASKING, BUSY, QUIET = "doing things\nAllow? (y/n)", "thinking… (esc to interrupt)", "some output"
NOW = 1000.0


def agent(
    status: str = WORKING,
    *,
    state: str | None = None,
    reported_at: float | None = None,
    waiting_kind: str | None = None,
    **more: object,
) -> Agent:
    return Agent(
        id="a1b2c3",
        task_id="a1b2c3",
        title="t",
        prompt="p",
        agent="tool",
        priority="medium",
        status=status,
        attempt=1,
        created_at=0.0,
        started_at=0.0,
        reported_state=state,
        reported_state_at=reported_at,
        reported_state_reason="why" if state else None,
        waiting_kind=waiting_kind,
        **more,
    )  # type: ignore[arg-type]


def obs(screen: str, last_output: float | None, exit_code: int | None = None) -> Observation:
    return Observation(PANE, screen, exit_code, "", None, last_output)


# (what the agent reported and when, its status, the screen, its last output) -> (event, waiting_kind, source)
CASES = [
    # the report wins over a contradicting screen while no later output moved on
    (
        "report waiting beats a busy screen",
        agent(state="waiting", reported_at=990),
        obs(BUSY, 989),
        (Event.ASKS, "question", "report"),
    ),
    (
        "report idle beats silence",
        agent(state="idle", reported_at=900),
        obs(QUIET, 899),
        (Event.ASKS, "idle", "report"),
    ),
    (
        "report working beats a question on screen",
        agent(WAITING, state="working", reported_at=990, waiting_kind="question"),
        obs(ASKING, 990),
        (Event.RESUMED, None, "report"),
    ),
    (
        "its last frame, drawn just after the report, is the same moment",
        agent(state="waiting", reported_at=990),
        obs(QUIET, 990 + REPORT_GRACE),
        (Event.ASKS, "question", "report"),
    ),
    # a report older than the newest output no longer pins anything: the screen decides
    (
        "stale waiting report, busy screen",
        agent(WAITING, state="waiting", reported_at=900, waiting_kind="question"),
        obs(BUSY, 995),
        (Event.RESUMED, None, "screen"),
    ),
    (
        "stale working report, question on screen",
        agent(state="working", reported_at=900),
        obs(ASKING, 995),
        (Event.ASKS, "question", "screen"),
    ),
    # the screen beats silence
    ("question after a long silence is a question", agent(), obs(ASKING, 100), (Event.ASKS, "question", "screen")),
    (
        "busy after a long silence is working",
        agent(WAITING, waiting_kind="silence"),
        obs(BUSY, 100),
        (Event.RESUMED, None, "screen"),
    ),
    ("silence when the screen says nothing", agent(), obs(QUIET, 100), (Event.SILENT, "silence", "silence")),
    (
        "output flows: working, from its screen",
        agent(WAITING, waiting_kind="silence"),
        obs(QUIET, 999),
        (Event.RESUMED, None, "screen"),
    ),
    # how it ended beats everything
    (
        "exit beats a report",
        agent(state="waiting", reported_at=999),
        obs(ASKING, 999, exit_code=0),
        (Event.EXITED_OK, None, "exit"),
    ),
]


@pytest.mark.parametrize("name, before, seen, expected", CASES, ids=[c[0] for c in CASES])
def test_precedence(name, before, seen, expected):
    verdict = classify(before, seen, PROFILE, NOW)
    event, kind, source = expected
    assert verdict.event is event, (name, verdict)
    assert verdict.fields.get("waiting_kind") == kind
    assert verdict.fields.get("status_source") == source


def test_a_report_that_holds_changes_nothing_twice():
    held = agent(
        WAITING,
        state="waiting",
        reported_at=990,
        waiting_kind="question",
        status_source="report",
        status_reason="reported waiting: why",
    )
    assert classify(held, obs(BUSY, 989), PROFILE, NOW).event is None
    assert classify(held, obs(BUSY, 989), PROFILE, NOW).fields == {}


def test_reported_done_still_ends_the_run_whatever_the_state_report():
    done = agent(state="waiting", reported_at=990, reported_status="done")
    verdict = classify(done, obs(ASKING, 989), PROFILE, NOW)
    assert verdict.event is Event.REPORTED_DONE and verdict.fields["status_source"] == "report"


def test_an_agent_idle_at_its_prompt_is_not_stalled():
    from dataclasses import replace

    from jarvis_tui.engine.policies import check_stall

    profile = Profile(name="tool", command=("tool",), stall_timeout=60.0, fire_stalled=True)
    idle = replace(agent(WAITING, state="idle", reported_at=10.0, waiting_kind="idle"), started_at=5.0)
    assert check_stall(idle, profile, NOW) is None  # a person's turn, not a hung agent
    silent = replace(agent(WAITING, waiting_kind="silence"), started_at=5.0)
    assert check_stall(silent, profile, NOW) is not None
