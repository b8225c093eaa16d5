"""Spawning: check a request, record the task and its first attempt, admit or queue it.

Validation happens before anything is created (nothing half-made): the profile, the
priority, the prompt (non-empty, no NUL, not too long for an argv), the dependencies, the
ticket id, the base agents branch from. A batch (:mod:`.batch`) validates every task with
:func:`validate` first, then records them all with :func:`record` in one transaction.

A task may start after several others (``after``: fan-in, it starts when ALL are done);
``hold`` records it ``held``: never dispatched until ``jarvis release``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigError
from .errors import UsageError
from .git import worktrees
from .launch import agent_argv, argv_problem
from .models import HELD, QUEUED, Agent
from .vocabulary import PRIORITIES

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.spawn")

# A ticket id goes into a branch name (jarvis/<ticket>-<slug>-<id>): letters, digits, '.', '_',
# '-', nothing git refuses in a ref ('..', a trailing '.' or '.lock') and nothing a shell mangles.
TICKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class TaskSpec:
    """A checked spawn request, ready to record."""

    prompt: str
    title: str
    profile: str
    priority: str
    after: tuple[str, ...] = ()  # task ids that must all be done first
    max_attempts: int | None = None
    scope: tuple[str, ...] = ()
    ticket: str | None = None
    kind: str | None = None
    base: str | None = None  # branch or commit to start from (None: [supervisor] base)
    hold: bool = False


def split_after(after: str | Sequence[str] | None) -> list[str]:
    """``--after A --after B`` or ``--after A,B``: the references in order, each once."""
    if after is None:
        return []
    items = [after] if isinstance(after, str) else list(after)
    refs: list[str] = []
    for item in items:
        for ref in str(item).split(","):
            ref = ref.strip()
            if ref and ref not in refs:
                refs.append(ref)
    return refs


def ticket_problem(ticket: str) -> str | None:
    if not TICKET.fullmatch(ticket) or ".." in ticket or ticket.endswith((".", ".lock")):
        return (f"ticket {ticket!r} cannot go into a branch name: use letters, digits, '.', '_' and '-' "
                "(up to 64, starting with a letter or digit), e.g. PROJ-123")
    return None


def base_problem(sup: Supervisor, base: str) -> str | None:
    """Why ``base`` cannot be a start point (a git call: only when a task names its own)."""
    if not base.strip() or base.startswith("-") or any(c.isspace() or c == "\x00" for c in base):
        return f"base {base!r} is not a branch or commit name"
    try:
        worktrees.resolve_commit(sup.repo, base)
    except worktrees.WorktreeError:
        return f"base {base!r} is not a branch or commit in {sup.repo}"
    return None


def validate(sup: Supervisor, prompt: str, *, agent: str | None = None, title: str | None = None,
             priority: str = "medium", after: str | Sequence[str] | None = None,
             max_attempts: int | None = None, scope: Sequence[str] | None = None, ticket: str | None = None,
             kind: str | None = None, base: str | None = None, hold: bool = False) -> TaskSpec:
    """Check a spawn request without recording anything.

    Raises UsageError (or UnknownAgent for an ``after`` id) with a message for the user;
    cheap (config and one registry read; a git call only for an explicit ``base``), so a
    dialog can call it before it closes.
    """
    profile = sup.profile(agent or sup.config.default_profile)
    if priority not in PRIORITIES:
        raise UsageError(f"unknown priority {priority!r} (choose from {', '.join(PRIORITIES)})")
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    for name, text in (("prompt", prompt), ("title", title or "")):
        if "\x00" in text:
            raise UsageError(f"the {name} contains a NUL byte, which no program can receive")
    if max_attempts is not None and not 1 <= max_attempts <= 1000:
        raise UsageError("--max-attempts must be between 1 and 1000")
    if scope:
        from .git import scopes as git_scopes  # late: only scoped spawns pay for it
    for pattern in scope or ():
        try:
            git_scopes.parse(pattern)
        except git_scopes.ScopeError as exc:
            raise UsageError(f"--scope {pattern!r}: {exc}") from None
    if ticket is not None and (problem := ticket_problem(ticket)):
        raise UsageError(problem)
    if kind is not None and not KIND.fullmatch(kind):
        raise UsageError(f"kind {kind!r}: use a short lower-case word (letters, digits, '-', '_'), e.g. review")
    if base is not None and (problem := base_problem(sup, base)):
        raise UsageError(problem)
    if title is None or not title.strip():
        title = prompt.strip().splitlines()[0][:72]
    probe = Agent(id="000000", task_id="000000", title=title, prompt=prompt, agent=profile.name,
                  priority=priority, status=QUEUED, attempt=1, created_at=0.0)
    too_long = argv_problem(*agent_argv(sup, probe, profile, Path("/worktree"), "jarvis/branch"))
    if too_long:
        raise UsageError(f"profile {profile.name}: {too_long}")
    after_tasks: list[str] = []
    for ref in split_after(after):
        task = sup.get(ref).task_id
        if task not in after_tasks:
            after_tasks.append(task)
    return TaskSpec(prompt=prompt, title=title, profile=profile.name, priority=priority, after=tuple(after_tasks),
                    max_attempts=max_attempts, scope=tuple(scope or ()), ticket=ticket, kind=kind, base=base,
                    hold=hold)


def record(sup: Supervisor, conn: sqlite3.Connection, spec: TaskSpec, *, task_id: str, now: float,
           after: Sequence[str] = (), batch: str | None = None, batch_width: int | None = None) -> None:
    """Write a checked task and its first attempt (queued, or held) inside the caller's transaction.

    ``after``: the task's dependencies when the caller resolved more than ``spec.after`` (a
    batch's references to its own tasks)."""
    deps = list(after or spec.after)
    sup.registry.create_task(conn, task_id=task_id, title=spec.title, prompt=spec.prompt, priority=spec.priority,
                             profile=spec.profile, after=deps, max_attempts=spec.max_attempts, now=now,
                             scope=list(spec.scope), ticket=spec.ticket, kind=spec.kind, base=spec.base, batch=batch,
                             batch_width=batch_width)
    sup.registry.create_attempt(conn, attempt_id=task_id, task_id=task_id, attempt=1, profile=spec.profile,
                                status=HELD if spec.hold else QUEUED, now=now)
    sup.registry.add_event("spawned", task_id, task_id, conn=conn, now=now, agent=spec.profile,
                           priority=spec.priority, after=deps[0] if deps else None, after_tasks=deps,
                           ticket=spec.ticket, hold=spec.hold, batch=batch)


def check_base(sup: Supervisor, spec: TaskSpec) -> None:
    """The config's base must resolve unless the task names its own (checked in :func:`validate`)."""
    if spec.base is None:
        problem = sup.config.base_problem()
        if problem:
            raise ConfigError(problem, sup.config.path)


def spawn(sup: Supervisor, prompt: str, *, agent: str | None = None, title: str | None = None,
          priority: str = "medium", after: str | Sequence[str] | None = None, max_attempts: int | None = None,
          scope: Sequence[str] | None = None, ticket: str | None = None, kind: str | None = None,
          base: str | None = None, hold: bool = False) -> Agent:
    """Record a task and its first attempt; start it now if admission allows, else queue it
    (or hold it)."""
    spec = validate(sup, prompt, agent=agent, title=title, priority=priority, after=after, max_attempts=max_attempts,
                    scope=scope, ticket=ticket, kind=kind, base=base, hold=hold)
    check_base(sup, spec)
    now = sup.clock()
    with sup.registry.transaction() as conn:
        agent_id = sup.registry.new_id()
        record(sup, conn, spec, task_id=agent_id, now=now)
        if spec.hold:
            admitted, claim = sup.registry.get(agent_id), None
        else:
            admitted, claim = sup.admit(agent_id, order=True)
    log.info("%s spawned (%s, %s): %s", agent_id, spec.profile, spec.priority, admitted.status)
    if claim is not None:
        return sup.start(agent_id, claim)
    return admitted


__all__ = ["TaskSpec", "base_problem", "check_base", "record", "spawn", "split_after", "ticket_problem", "validate"]
