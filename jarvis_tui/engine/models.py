"""The records every face shares: the agent view built from the registry, and its JSON.

Statuses and their transitions live in :mod:`.lifecycle`; the names below are re-exported
for the many modules that only compare statuses.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from .lifecycle import ACTIVE, ENDED, LIVE, PENDING, RUNNING, Status

QUEUED = Status.QUEUED
BLOCKED = Status.BLOCKED
STARTING = Status.STARTING
WORKING = Status.WORKING
WAITING = Status.WAITING
DONE = Status.DONE
FAILED = Status.FAILED
FIRED = Status.FIRED
MERGED = Status.MERGED
HELD = Status.HELD

STATUSES = tuple(s.value for s in Status)


def iso(ts: float | None) -> str | None:
    """Epoch seconds to an ISO-8601 UTC string (the JSON format of every timestamp)."""
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FireRecord:
    reason: str
    note: str
    at: float
    ref: str | None
    automatic: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "note": self.note,
            "at": iso(self.at),
            "ref": self.ref,
            "automatic": self.automatic,
        }


QUEUE_KINDS = (
    "dependency",
    "backoff",
    "capacity",
    "profile",
    "resources",
    "warning",
    "order",
    "scope",
    "budget",
    "batch",
)


@dataclass(frozen=True)
class QueueReason:
    """Why a queued agent is not running yet, as data (``text`` is the human line).

    ``kind`` is one of :data:`QUEUE_KINDS`; ``until`` (epoch seconds) is set when the wait
    ends at a known time (a backoff, the warning zone's next start), so a face can count down.
    """

    kind: str
    text: str
    until: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "until": iso(self.until), **self.data}


@dataclass(frozen=True)
class Claim:
    """An operation in progress on one agent, and who does it (see :mod:`.claims`)."""

    op: str  # start, fire, remove, retry, merge, check, recover
    token: str
    pid: int
    pid_started: float | None
    host: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)  # e.g. a fire's reason and note

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "pid": self.pid, "host": self.host, "since": iso(self.at)}


@dataclass(frozen=True)
class Note:
    """A finding a worker (or an orchestrator) recorded on a task, for the tasks after it."""

    id: int
    task_id: str
    attempt_id: str | None
    at: float
    tag: str | None
    text: str
    author: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_id": self.task_id,
            "attempt_id": self.attempt_id,
            "at": iso(self.at),
            "tag": self.tag,
            "text": self.text,
            "author": self.author,
        }


@dataclass(frozen=True)
class Orchestrator:
    """A client connected through ``jarvis mcp`` (one server process each)."""

    pid: int
    client: str
    since: float
    client_version: str | None = None
    last_call_at: float | None = None
    last_tool: str | None = None
    calls: int = 0
    host: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "client": self.client,
            "client_version": self.client_version,
            "since": iso(self.since),
            "last_call_at": iso(self.last_call_at),
            "last_tool": self.last_tool,
            "calls": self.calls,
            "host": self.host,
        }


@dataclass(frozen=True)
class Tokens:
    """Tokens an agent used, read from its own transcripts. ``input`` excludes cached input:
    the whole prompt side is ``input + cache_read + cache_write`` (Anthropic's convention; the
    readers convert the other tools' to it)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_write": self.cache_write,
        }

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_write


@dataclass
class Agent:
    """One attempt of one task: the unit the table, the CLI and the policies talk about."""

    id: str
    task_id: str
    title: str
    prompt: str
    agent: str  # profile name
    priority: str
    status: str
    attempt: int
    created_at: float
    branch: str | None = None
    worktree: str | None = None
    tmux_session: str | None = None
    pane_id: str | None = None
    pid: int | None = None
    base_commit: str | None = None
    exit_code: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    last_output_at: float | None = None
    heartbeat_at: float | None = None
    heartbeat_note: str | None = None
    status_reason: str | None = None
    queue_reason: str | None = None
    summary: str | None = None
    retry_context: str | None = None
    reported_status: str | None = None
    after_task_id: str | None = None
    not_before: float | None = None
    preserved_ref: str | None = None
    start_point: str | None = None  # commit a retry's branch starts at
    start_ref: str | None = None  # preserved work a retry's files are restored from
    task_created_at: float | None = None  # when the task (not this attempt) was created
    removed: bool = False
    latest: bool = True  # the newest attempt of its task
    max_attempts: int | None = None  # per-task override of the profile's
    fires: list[FireRecord] = field(default_factory=list)
    queue: QueueReason | None = None  # structured queue_reason (queued and blocked agents)
    waiting_kind: str | None = None  # "question" (a pattern on screen) or "silence", when waiting
    stalled: bool = False  # silent past stall_timeout (a flag, not a status)
    claim: Claim | None = None  # an operation in progress on it (start, fire, remove, retry...)
    stop_request: dict[str, Any] | None = None  # a fire asked for while a start held the agent
    scope: list[str] = field(default_factory=list)  # the task's file scope (gitignore-style globs)
    merged_at: float | None = None
    merge_commit: str | None = None
    merged_into: str | None = None
    check_state: str | None = None  # running, passed, failed
    check_exit: int | None = None
    check_at: float | None = None
    overlaps: list[str] = field(default_factory=list)  # live agents touching the same paths
    out_of_scope: list[str] = field(default_factory=list)  # paths it touched outside its scope
    after_tasks: list[str] = field(default_factory=list)  # task ids it starts after (all done: fan-in)
    ticket: str | None = None  # an external ticket id (in the branch name too)
    kind: str | None = None  # what sort of task (a label an orchestrator gives: review, test...)
    base: str | None = None  # the branch or commit it starts from (None: [supervisor] base)
    batch: str | None = None  # the batch it was spawned in (spawn --batch)
    batch_width: int | None = None  # at most this many of its batch run at once (strategy auto)

    @property
    def dependencies(self) -> list[str]:
        """The tasks it waits for: every ``--after`` (older records named only one)."""
        if self.after_tasks:
            return list(self.after_tasks)
        return [self.after_task_id] if self.after_task_id else []

    budget_usd: float | None = None  # the task's budget in USD (spawn --budget), for each attempt
    status_source: str | None = None  # what the status rests on: report, screen, silence, exit
    reported_state: str | None = None  # working / waiting / idle, from `jarvis report --state`
    reported_state_at: float | None = None
    reported_state_reason: str | None = None
    tokens: Tokens | None = None  # None: no transcript read (yet)
    cost_usd: float | None = None
    cost_source: str | None = None  # transcript (priced tokens) or estimate (cost_weight x hours)
    cost_note: str | None = None  # why an estimate, or what priced it
    budget_warned: bool = False  # the 80 % warning was given

    @property
    def live_overlaps(self) -> list[str]:
        """``overlaps`` while it runs; once it ended, none: the scan stops at its end, so the
        list would name agents as they were then (its ``overlap`` events keep that history)."""
        return list(self.overlaps) if self.status in RUNNING else []

    @property
    def check(self) -> str | None:
        """``passed`` / ``failed (exit N)`` / ``running`` (None: never checked)."""
        if self.check_state == "failed":
            return f"failed (exit {self.check_exit})"
        return self.check_state

    @property
    def claim_op(self) -> str | None:
        return self.claim.op if self.claim else None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    def runtime(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or now) - self.started_at

    def to_json(self) -> dict[str, Any]:
        """The stable ``ls --json`` schema (documented in the README)."""
        return {
            "id": self.id,
            "task_id": self.task_id,
            "title": self.title,
            "agent": self.agent,
            "priority": self.priority,
            "status": self.status,
            "status_reason": self.status_reason,
            "queue_reason": self.queue_reason,
            "attempt": self.attempt,
            "branch": self.branch,
            "worktree": self.worktree,
            "tmux_session": self.tmux_session,
            "pid": self.pid,
            "exit_code": self.exit_code,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "last_output_at": iso(self.last_output_at),
            "heartbeat_at": iso(self.heartbeat_at),
            "heartbeat_note": self.heartbeat_note,
            "summary": self.summary,
            "after": self.after_task_id,
            "removed": self.removed,
            "fires": [f.to_json() for f in self.fires],
            "queue": self.queue.to_json() if self.queue else None,
            "waiting_kind": self.waiting_kind,
            "stalled": self.stalled,
            "claim": self.claim.to_json() if self.claim else None,
            "scope": self.scope,
            "overlaps": self.live_overlaps,
            "out_of_scope": self.out_of_scope,
            "check": self.check,
            "merged_at": iso(self.merged_at),
            "merge_commit": self.merge_commit,
            "merged_into": self.merged_into,
            "after_tasks": self.dependencies,
            "ticket": self.ticket,
            "kind": self.kind,
            "base": self.base,
            "batch": self.batch,
            "budget_usd": self.budget_usd,
            "status_source": self.status_source,
            "tokens": self.tokens.to_json() if self.tokens else None,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "cost_source": self.cost_source,
            "cost_note": self.cost_note,
        }


__all__ = [
    "ACTIVE",
    "BLOCKED",
    "DONE",
    "ENDED",
    "FAILED",
    "FIRED",
    "HELD",
    "LIVE",
    "MERGED",
    "PENDING",
    "QUEUED",
    "QUEUE_KINDS",
    "RUNNING",
    "STARTING",
    "STATUSES",
    "WAITING",
    "WORKING",
    "Agent",
    "Claim",
    "FireRecord",
    "Note",
    "Orchestrator",
    "QueueReason",
    "Status",
    "Tokens",
    "iso",
]
