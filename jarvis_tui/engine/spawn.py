"""Spawning: check a request, record the task and its first attempt, admit or queue it.

Validation happens before anything is created (nothing half-made): the profile, the
priority, the prompt (non-empty, no NUL, not too long for an argv), the dependencies, the
ticket id, the base agents branch from. A batch (:mod:`.batch`) validates every task with
:func:`validate` first, then records them all with :func:`record` in one transaction.

A task may start after several others (``after``: fan-in, it starts when ALL are done);
``hold`` records it ``held``: never dispatched until ``jarvis release``. The profile's
program must be installed; ``--agent auto`` picks the profile by routing (:mod:`.routing`)
over the history of outcomes, the choice (with the numbers that made it) recorded as a
``policy`` event of the task.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import budgets
from .config import ConfigError
from .errors import UsageError
from .git import worktrees
from .launch import agent_argv, argv_problem
from .models import ACTIVE, HELD, QUEUED, Agent
from .presets import missing_program
from .vocabulary import PRIORITIES

if TYPE_CHECKING:
    from . import routing
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.spawn")

AUTO = "auto"


@dataclass(frozen=True)
class Route:
    """An auto-routing choice and the numbers that made it."""

    chosen: str
    kind: str | None
    prefer: str
    seed: int
    ranking: list[routing.Score]

    def to_json(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "kind": self.kind,
            "prefer": self.prefer,
            "seed": self.seed,
            "ranking": [score.to_json() for score in self.ranking],
        }

    @property
    def note(self) -> str:
        from .routing import NO_KIND

        best = next(s for s in self.ranking if s.profile == self.chosen)
        return (
            f"auto: {self.chosen} for kind {self.kind or NO_KIND} (prefer {self.prefer}; "
            f"{best.successes} done / {best.failures} failed on this kind, sampled success {best.theta:.2f}, "
            f"${best.cost:.2f} per success, score {best.score:.2f})"
        )


def route(sup: Supervisor, kind: str | None, *, advance: bool = False) -> Route:
    """Rank the profiles auto routing may pick for a task of ``kind`` (``advance``: this choice is
    made, so the next one draws fresh numbers)."""
    cfg = sup.config.routing
    names = list(cfg.profiles or sup.config.profiles)
    active = sup.registry.agents(statuses=ACTIVE)
    from . import metrics, routing  # late: only --agent auto ranks (statistics and all)

    spent = budgets.spent_today(sup.registry, sup.clock())
    candidates = []
    for name in names:
        profile = sup.config.profiles[name]
        spent_out = budgets.daily_block(sup.config, name, spent)
        why = missing_program(profile) or (spent_out.text() if spent_out else None)
        busy = sum(1 for a in active if a.agent == name)
        candidates.append(
            routing.Candidate(
                name, profile.cost_weight, why, bool(profile.max_concurrent and busy >= profile.max_concurrent)
            )
        )
    count = int(sup.registry.get_meta("routes") or 0)
    seed = cfg.seed * 1_000_003 + count if cfg.seed else int.from_bytes(os.urandom(4)) % 2**31
    ranking = routing.rank(metrics.outcomes(sup.registry), candidates, kind, cfg.prefer, random.Random(seed))
    best = routing.choose(ranking)
    if best is None:
        why = "; ".join(f"{s.profile}: {s.unavailable}" for s in ranking) or "no profiles"
        raise UsageError(f"--agent auto: no profile can start here ({why})")
    if advance:
        sup.registry.set_meta("routes", str(count + 1))
    return Route(best.profile, kind, cfg.prefer, seed, ranking)


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
    budget: float | None = None  # USD, for each attempt (spawn --budget)
    route: Route | None = None  # how --agent auto chose the profile


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
    """Why ``ticket`` cannot go into a branch name, naming the exact cause (None: it can)."""
    if TICKET.fullmatch(ticket) and ".." not in ticket and not ticket.endswith((".", ".lock")):
        return None
    bad = sorted({c for c in ticket if not (c.isascii() and (c.isalnum() or c in "._-"))})
    if not ticket:
        why = "it is empty"
    elif bad:
        why = "it has " + ", ".join(repr(c) for c in bad)
    elif not ticket[0].isalnum():
        why = "it must start with a letter or digit"
    elif len(ticket) > 64:
        why = f"it is {len(ticket)} characters long (64 at most)"
    elif ".." in ticket:
        why = "git refuses '..' in a branch name"
    else:
        why = "git refuses a branch name that ends in '.' or '.lock'"
    return (
        f"ticket {ticket!r} cannot go into a branch name: {why}; use letters, digits, '.', '_' and '-' "
        "(up to 64, starting with a letter or digit), e.g. PROJ-123"
    )


def base_problem(sup: Supervisor, base: str) -> str | None:
    """Why ``base`` cannot be a start point (a git call: only when a task names its own)."""
    if not base.strip() or base.startswith("-") or any(c.isspace() or c == "\x00" for c in base):
        return f"base {base!r} is not a branch or commit name"
    try:
        worktrees.resolve_commit(sup.repo, base)
    except worktrees.WorktreeError:
        return f"base {base!r} is not a branch or commit in {sup.repo}"
    return None


def validate(
    sup: Supervisor,
    prompt: str,
    *,
    agent: str | None = None,
    title: str | None = None,
    priority: str = "medium",
    after: str | Sequence[str] | None = None,
    max_attempts: int | None = None,
    scope: Sequence[str] | None = None,
    ticket: str | None = None,
    kind: str | None = None,
    base: str | None = None,
    hold: bool = False,
    budget: float | None = None,
    advance_route: bool = False,
) -> TaskSpec:
    """Check a spawn request without recording anything.

    Raises UsageError (or UnknownAgent for an ``after`` id) with a message for the user;
    cheap (config and a few registry reads; a git call only for an explicit ``base``), so a
    dialog can call it before it closes. ``auto`` is checked as the profile routing would
    pick now (``advance_route``: the pick is made, the next one draws fresh numbers).
    """
    kind = kind.strip() if kind else None
    chosen = route(sup, kind, advance=advance_route) if (agent or sup.config.default_profile) == AUTO else None
    profile = sup.profile(chosen.chosen if chosen else (agent or sup.config.default_profile))
    missing = missing_program(profile)
    if missing:
        raise UsageError(f"profile {profile.name}: {missing}")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise UsageError("--budget must be a positive amount of USD, e.g. 2.50")
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
    if base is not None and base == sup.config.supervisor.base:
        base = None  # the config's own base: recorded as such (it follows the config, like any task)
    if base is not None and (problem := base_problem(sup, base)):
        raise UsageError(problem)
    if title is None or not title.strip():
        title = prompt.strip().splitlines()[0][:72]
    probe = Agent(
        id="000000",
        task_id="000000",
        title=title,
        prompt=prompt,
        agent=profile.name,
        priority=priority,
        status=QUEUED,
        attempt=1,
        created_at=0.0,
        kind=kind,
    )
    too_long = argv_problem(*agent_argv(sup, probe, profile, Path("/worktree"), "jarvis/branch"))
    if too_long:
        raise UsageError(f"profile {profile.name}: {too_long}")
    after_tasks: list[str] = []
    for ref in split_after(after):
        task = sup.get(ref).task_id
        if task not in after_tasks:
            after_tasks.append(task)
    return TaskSpec(
        prompt=prompt,
        title=title,
        profile=profile.name,
        priority=priority,
        after=tuple(after_tasks),
        max_attempts=max_attempts,
        scope=tuple(scope or ()),
        ticket=ticket,
        kind=kind,
        base=base,
        hold=hold,
        budget=budget,
        route=chosen,
    )


def record(
    sup: Supervisor,
    conn: sqlite3.Connection,
    spec: TaskSpec,
    *,
    task_id: str,
    now: float,
    after: Sequence[str] = (),
    batch: str | None = None,
    batch_width: int | None = None,
) -> None:
    """Write a checked task and its first attempt (queued, or held) inside the caller's transaction.

    ``after``: the task's dependencies when the caller resolved more than ``spec.after`` (a
    batch's references to its own tasks)."""
    deps = list(after or spec.after)
    sup.registry.create_task(
        conn,
        task_id=task_id,
        title=spec.title,
        prompt=spec.prompt,
        priority=spec.priority,
        profile=spec.profile,
        after=deps,
        max_attempts=spec.max_attempts,
        now=now,
        scope=list(spec.scope),
        ticket=spec.ticket,
        kind=spec.kind,
        base=spec.base,
        batch=batch,
        batch_width=batch_width,
        budget_usd=spec.budget,
    )
    sup.registry.create_attempt(
        conn,
        attempt_id=task_id,
        task_id=task_id,
        attempt=1,
        profile=spec.profile,
        status=HELD if spec.hold else QUEUED,
        now=now,
    )
    sup.registry.add_event(
        "spawned",
        task_id,
        task_id,
        conn=conn,
        now=now,
        agent=spec.profile,
        priority=spec.priority,
        after=deps[0] if deps else None,
        after_tasks=deps,
        ticket=spec.ticket,
        hold=spec.hold,
        batch=batch,
        task_kind=spec.kind,
        budget_usd=spec.budget,
    )
    if spec.route is not None:
        sup.registry.add_event(
            "policy",
            task_id,
            task_id,
            conn=conn,
            now=now,
            decision="route",
            note=spec.route.note,
            route=spec.route.to_json(),
        )


def check_base(sup: Supervisor, spec: TaskSpec) -> str | None:
    """The commit the config's base names now, which a start right away begins from (one
    ``rev-parse`` per spawn, not two); None when the task names its own base (checked in
    :func:`validate`). ConfigError when the config's base names no commit."""
    if spec.base is not None:
        return None
    commit = sup.config.base_commit()
    if commit is None:
        raise ConfigError(sup.config.base_problem() or "supervisor.base names no commit", sup.config.path)
    return commit


def spawn(sup: Supervisor, prompt: str, **options: Any) -> Agent:
    """Record a task and its first attempt; start it now if admission allows, else queue it
    (or hold it). ``options`` are :func:`validate`'s (declared there once)."""
    spec = validate(sup, prompt, **options, advance_route=True)
    base_commit = check_base(sup, spec)
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
        return sup.start(agent_id, claim, base_commit=base_commit)
    return admitted


__all__ = [
    "AUTO",
    "Route",
    "TaskSpec",
    "base_problem",
    "check_base",
    "record",
    "route",
    "spawn",
    "split_after",
    "ticket_problem",
    "validate",
]
