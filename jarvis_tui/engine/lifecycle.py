"""The agent lifecycle: one state machine, one table, one writer of status.

Every status an agent can have is a :class:`Status`; every change is an :class:`Event` from
one status to another, listed ONCE in :data:`TRANSITIONS` (the README's status table and
diagram are checked against it by a test). :func:`transition` is the only code in jarvis
that writes an agent's status: it refuses an event the table does not allow (raises, logs,
changes nothing) and is a compare-and-set against the status the caller read, so two
processes acting on one agent record each change once.

:func:`allowed` is the one set of action rules (may this agent be fired, retried, removed,
sent input...?) that the CLI, the dashboard's keys and the MCP server all ask; :func:`require`
is the same rules as a refusal, checked by each engine operation before it acts.

::

    queued ──admit──► starting ──launched──► working ◄──asks/silent/resumed──► waiting
      │ ▲                 │                     │                               │
  block│ │unblock   start_failed/           exited_ok, reported_done ──► done ──merge──► merged
      ▼ │          start_interrupted        exited_error, lost, reported_failed ──► failed
    blocked             ▼                   fire (any live or pending status) ──► fired
                      failed
    held ──release──► queued   (spawn --hold: never dispatched until released)

A retry is not a transition: it is a new attempt (a new agent id) of the same task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .errors import Busy, SupervisorError
from .schema import ATTEMPT_FIELDS

if TYPE_CHECKING:
    from .models import Agent, Claim
    from .registry import Registry

log = logging.getLogger("jarvis.lifecycle")


class Status(StrEnum):
    QUEUED = "queued"
    BLOCKED = "blocked"
    STARTING = "starting"
    WORKING = "working"
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"
    FIRED = "fired"
    MERGED = "merged"
    HELD = "held"  # recorded, never dispatched until released (jarvis release)


class Event(StrEnum):
    ADMIT = "admit"
    BLOCK = "block"
    UNBLOCK = "unblock"
    LAUNCHED = "launched"
    START_FAILED = "start_failed"
    START_INTERRUPTED = "start_interrupted"
    ASKS = "asks"
    SILENT = "silent"
    RESUMED = "resumed"
    EXITED_OK = "exited_ok"
    EXITED_ERROR = "exited_error"
    REPORTED_DONE = "reported_done"
    REPORTED_FAILED = "reported_failed"
    LOST = "lost"
    FIRE = "fire"
    MERGE = "merge"
    RELEASE = "release"


S, E = Status, Event

PENDING = frozenset({S.QUEUED, S.BLOCKED, S.HELD})  # not started, and no tmux session
ACTIVE = frozenset({S.STARTING, S.WORKING, S.WAITING})  # has (or is getting) a tmux session
RUNNING = frozenset({S.WORKING, S.WAITING})
ENDED = frozenset({S.DONE, S.FAILED, S.FIRED, S.MERGED})
LIVE = PENDING | ACTIVE  # not ended: a task has at most one live attempt


@dataclass(frozen=True)
class Transition:
    source: Status
    target: Status
    event: Event
    doc: str


def _rows(sources: tuple[Status, ...] | Status, target: Status, event: Event, doc: str) -> list[Transition]:
    if isinstance(sources, Status):
        sources = (sources,)
    return [Transition(source, target, event, doc) for source in sources]


TRANSITIONS: tuple[Transition, ...] = tuple(
    _rows(S.QUEUED, S.STARTING, E.ADMIT, "admission allows a start (capacity, resources, dependency)")
    + _rows(S.QUEUED, S.BLOCKED, E.BLOCK, "its --after dependency failed or was fired")
    + _rows(S.BLOCKED, S.QUEUED, E.UNBLOCK, "the dependency got a new attempt")
    + _rows(S.STARTING, S.WORKING, E.LAUNCHED, "worktree and tmux session made")
    + _rows(S.STARTING, S.FAILED, E.START_FAILED, "the worktree or session could not be made")
    + _rows(S.STARTING, S.FAILED, E.START_INTERRUPTED, "the process starting it died before the session existed")
    + _rows(S.WORKING, S.WAITING, E.ASKS, "a question on its screen, or the agent reported waiting or idle")
    + _rows(S.WORKING, S.WAITING, E.SILENT, "no output or heartbeat for waiting_after seconds")
    + _rows(S.WAITING, S.WORKING, E.RESUMED, "the question left its screen, or output, input or a heartbeat came")
    + _rows((S.STARTING, S.WORKING, S.WAITING), S.DONE, E.EXITED_OK, "exited 0")
    + _rows((S.STARTING, S.WORKING, S.WAITING), S.FAILED, E.EXITED_ERROR, "exited non-zero, or was killed")
    + _rows((S.WORKING, S.WAITING), S.DONE, E.REPORTED_DONE, "the agent reported done (jarvis report)")
    + _rows((S.WORKING, S.WAITING), S.FAILED, E.REPORTED_FAILED, "the agent reported failed")
    + _rows((S.WORKING, S.WAITING), S.FAILED, E.LOST, "its tmux session vanished, or its pane died unrecorded")
    + _rows(
        (S.QUEUED, S.BLOCKED, S.STARTING, S.WORKING, S.WAITING),
        S.FIRED,
        E.FIRE,
        "stopped by a person or a policy, with a recorded reason; all work preserved",
    )
    + _rows(S.DONE, S.MERGED, E.MERGE, "its work was merged into the base branch")
    + _rows((S.FAILED, S.FIRED), S.MERGED, E.MERGE, "merged with --force-ended")
    + _rows(S.HELD, S.QUEUED, E.RELEASE, "released (jarvis release): it joins the queue")
    + _rows(S.HELD, S.FIRED, E.FIRE, "a held task cancelled, with a recorded reason")
)

_TABLE: dict[tuple[Status, Event], Status] = {(t.source, t.event): t.target for t in TRANSITIONS}


class IllegalTransition(Exception):
    """An event the table does not allow from that status: a bug, never half-applied."""


def target(source: str, event: Event) -> Status:
    """Where ``event`` takes an agent in status ``source``; raises :class:`IllegalTransition`."""
    try:
        return _TABLE[(Status(source), event)]
    except (KeyError, ValueError):
        message = f"illegal transition: {event.value} from {source}"
        log.error(message)
        raise IllegalTransition(message) from None


def can(source: str, event: Event) -> bool:
    return (source, event) in _TABLE


# --------------------------------------------------------------------------- the writer

STATUS_COLUMNS = ATTEMPT_FIELDS | {"status"}  # what a transition may write; nobody else writes status
Notify = Callable[["Agent", str, str, "str | None"], None]


def transition(
    registry: Registry,
    agent: Agent,
    event: Event,
    *,
    reason: str | None,
    now: float,
    claim: Claim | None = None,
    notify: Notify | None = None,
    event_data: dict[str, Any] | None = None,
    **fields: Any,
) -> Agent | None:
    """Apply ``event`` to ``agent`` as the caller read it: the ONE writer of status.

    Raises :class:`IllegalTransition` (logged, nothing written) if the table has no such
    event from ``agent.status``. Returns the updated agent, or ``None`` when the world moved
    on: the status is no longer what the caller read, or another live operation holds the
    agent (a claim the caller does not own). In one transaction: the status, ``reason``,
    ``fields``, and a ``status`` event; ``notify`` (the on_status_change hook) runs after
    the commit.
    """
    from . import claims  # late: claims -> registry -> models -> lifecycle

    new = target(agent.status, event)
    old = str(agent.status)
    with registry.transaction() as conn:
        current = registry.get(agent.id)
        if current.status != old:
            log.debug("%s: %s lost: now %s, not %s", agent.id, event.value, current.status, old)
            return None
        if claims.blocks(current, claim, now):
            log.debug("%s: %s skipped: %s holds it", agent.id, event.value, current.claim_op)
            return None
        registry.write_row(conn, agent.id, {"status": new, "status_reason": reason, **fields}, columns=STATUS_COLUMNS)
        registry.add_event(
            "status",
            agent.id,
            agent.task_id,
            conn=conn,
            now=now,
            old=old,
            new=new.value,
            event=event.value,
            reason=reason,
            **(event_data or {}),
        )

        def announce() -> None:
            log.info("%s %s -> %s (%s)%s", agent.id, old, new.value, event.value, f": {reason}" if reason else "")
            if notify is not None:
                notify(current, old, new.value, reason)

        registry.after_commit(announce)
    return registry.get(agent.id)


# --------------------------------------------------------------------------- action rules


class Action(StrEnum):
    """What a person or an orchestrator may ask of one agent."""

    FIRE = "fire"
    RETRY = "retry"
    REMOVE = "remove"
    SEND = "send"
    ATTACH = "attach"
    REVIEW = "review"
    CHECK = "check"
    MERGE = "merge"
    DETAILS = "details"
    RELEASE = "release"


def allowed(agent: Agent, action: Action | str, *, force_ended: bool = False) -> str | None:
    """``None`` if ``action`` may be done to ``agent`` now, else why not (one line for the user).

    The one copy of these rules: the CLI refuses with this message, the dashboard disables
    the key and shows it, the MCP server returns it as the tool error. An operation already
    under way on the agent (a claim) is judged by the engine when it acts, since only it can
    tell a live holder from a dead one.
    """
    action = Action(action)
    status = Status(agent.status)
    aid = agent.id
    if action is Action.DETAILS:
        return None
    if agent.removed and action is not Action.REVIEW:
        return f"agent {aid} was removed"
    if action is Action.FIRE:
        if status is S.FIRED:
            return f"agent {aid} was already fired"
        if status in ENDED:
            return f"agent {aid} is {status}: nothing is running to stop (retry or remove it)"
        return None
    if action in (Action.RETRY, Action.REMOVE) and status in ACTIVE and agent.claim and agent.claim.op != "start":
        # A fire under way: say so, not "fire it first" (whether its holder lives is the engine's call)
        return f"agent {aid} is already being {Busy.PAST.get(agent.claim.op, agent.claim.op)}; wait for it to end"
    if action is Action.RETRY:
        if status in PENDING:
            return f"agent {aid} has not started yet ({status})"
        if status in ACTIVE:
            return f"agent {aid} is still {status}; fire it first"
        return None  # the engine also checks, under lock, that the task has no live attempt
    if action is Action.REMOVE:
        if status in ACTIVE:
            return f"agent {aid} is {status}; fire it first"
        if status in PENDING:
            return f"agent {aid} is {status} and never ran; cancel it with fire (so the reason is recorded)"
        return None
    if action is Action.SEND:
        if status not in RUNNING or not agent.pane_id:
            return f"agent {aid} is {status}; only a running agent takes input"
        return None
    if action is Action.ATTACH:
        if status not in ACTIVE or not agent.tmux_session:
            return f"agent {aid} is {status} and has no tmux session; its log stays readable"
        return None
    if action is Action.REVIEW:
        if not agent.branch and not agent.preserved_ref:
            return f"agent {aid} never started ({status}): nothing to review"
        return None
    if action is Action.CHECK:
        if not agent.branch:
            return f"agent {aid} never started ({status}): nothing to check"
        return None
    if action is Action.MERGE:
        if status is S.MERGED:
            return f"agent {aid} was already merged"
        if status in ACTIVE or status in PENDING:
            return f"agent {aid} is {status}; only an ended agent can be merged"
        if status in (S.FAILED, S.FIRED) and not force_ended:
            return f"agent {aid} is {status}; merge it anyway with --force-ended"
        return None
    if action is Action.RELEASE:
        if status is not S.HELD:
            return f"agent {aid} is {status}, not held: nothing to release"
        return None
    raise AssertionError(action)  # pragma: no cover - every Action is handled above


def require(agent: Agent, action: Action | str, *, force_ended: bool = False) -> None:
    """Refuse (:class:`~.errors.SupervisorError`, with :func:`allowed`'s words) unless ``action``
    may be done to ``agent`` now: what every engine operation checks before it acts."""
    refusal = allowed(agent, action, force_ended=force_ended)
    if refusal:
        raise SupervisorError(refusal)


def describe_table() -> list[dict[str, Any]]:
    """The transition table as data (``jarvis doctor --json``, docs, tests)."""
    return [{"from": t.source.value, "to": t.target.value, "event": t.event.value, "doc": t.doc} for t in TRANSITIONS]


__all__ = [
    "ACTIVE",
    "ENDED",
    "LIVE",
    "PENDING",
    "RUNNING",
    "STATUS_COLUMNS",
    "TRANSITIONS",
    "Action",
    "Event",
    "IllegalTransition",
    "Status",
    "Transition",
    "allowed",
    "can",
    "describe_table",
    "require",
    "target",
    "transition",
]
