"""Spawning: check a request, record the task and its first attempt, admit or queue it.

Validation happens before anything is created (nothing half-made): the profile (and that its
program is installed), the priority, the prompt (non-empty, no NUL, not too long for an argv),
the kind and budget, the dependency, and the base commit agents branch from.

``--agent auto`` picks the profile by routing (:mod:`.routing`) over the history of outcomes;
the choice, with the numbers that made it, is recorded as a ``policy`` event of the task.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import budgets, metrics, routing
from .config import ConfigError, Profile
from .errors import UsageError
from .git import scopes as git_scopes
from .launch import agent_argv, argv_problem
from .models import ACTIVE, QUEUED, Agent
from .presets import missing_program
from .usage import spent_today
from .vocabulary import PRIORITIES

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
        return {"chosen": self.chosen, "kind": self.kind, "prefer": self.prefer, "seed": self.seed,
                "ranking": [score.to_json() for score in self.ranking]}

    @property
    def note(self) -> str:
        best = next(s for s in self.ranking if s.profile == self.chosen)
        return (f"auto: {self.chosen} for kind {self.kind or routing.NO_KIND} (prefer {self.prefer}; "
                f"{best.successes} done / {best.failures} failed on this kind, sampled success {best.theta:.2f}, "
                f"${best.cost:.2f} per success, score {best.score:.2f})")


def route(sup: Supervisor, kind: str | None, *, advance: bool = False) -> Route:
    """Rank the profiles auto routing may pick for a task of ``kind`` (``advance``: this choice is
    made, so the next one draws fresh numbers)."""
    cfg = sup.config.routing
    names = list(cfg.profiles or sup.config.profiles)
    active = sup.registry.agents(statuses=ACTIVE)
    spent = spent_today(sup.registry, sup.clock())
    candidates = []
    for name in names:
        profile = sup.config.profiles[name]
        spent_out = budgets.daily_block(sup.config, name, spent)
        why = missing_program(profile) or (spent_out.text() if spent_out else None)
        busy = sum(1 for a in active if a.agent == name)
        candidates.append(routing.Candidate(name, profile.cost_weight, why,
                                            bool(profile.max_concurrent and busy >= profile.max_concurrent)))
    count = int(sup.registry.get_meta("routes") or 0)
    seed = cfg.seed * 1_000_003 + count if cfg.seed else secrets.randbelow(2**31)
    ranking = routing.rank(metrics.outcomes(sup.registry), candidates, kind, cfg.prefer, random.Random(seed))
    best = routing.choose(ranking)
    if best is None:
        why = "; ".join(f"{s.profile}: {s.unavailable}" for s in ranking) or "no profiles"
        raise UsageError(f"--agent auto: no profile can start here ({why})")
    if advance:
        sup.registry.set_meta("routes", str(count + 1))
    return Route(best.profile, kind, cfg.prefer, seed, ranking)

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.spawn")


def validate(sup: Supervisor, prompt: str, *, agent: str | None = None, title: str | None = None,
             priority: str = "medium", after: str | None = None, max_attempts: int | None = None,
             scope: list[str] | None = None, kind: str | None = None,
             budget: float | None = None) -> tuple[Profile, str, str | None]:
    """Check a spawn request without starting anything: (profile, title, after task id).

    Raises UsageError (or UnknownAgent for --after) with a message for the user; cheap
    (config and a few registry reads), so a dialog can call it before it closes. ``auto``
    is checked as the profile routing would pick now.
    """
    name = agent or sup.config.default_profile
    profile = sup.profile(route(sup, kind).chosen if name == AUTO else name)
    missing = missing_program(profile)
    if missing:
        raise UsageError(f"profile {profile.name}: {missing}")
    if kind is not None and (not kind.strip() or len(kind) > 40 or not kind.isprintable()):
        raise UsageError("--kind must be a short word or two (at most 40 printable characters)")
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
    for pattern in scope or ():
        try:
            git_scopes.parse(pattern)
        except git_scopes.ScopeError as exc:
            raise UsageError(f"--scope {pattern!r}: {exc}") from None
    if title is None or not title.strip():
        title = prompt.strip().splitlines()[0][:72]
    probe = Agent(id="000000", task_id="000000", title=title, prompt=prompt, agent=profile.name,
                  priority=priority, status=QUEUED, attempt=1, created_at=0.0, kind=kind)
    too_long = argv_problem(*agent_argv(sup, probe, profile, Path("/worktree"), "jarvis/branch"))
    if too_long:
        raise UsageError(f"profile {profile.name}: {too_long}")
    after_task = sup.get(after).task_id if after else None
    return profile, title, after_task


def spawn(sup: Supervisor, prompt: str, *, agent: str | None = None, title: str | None = None,
          priority: str = "medium", after: str | None = None, max_attempts: int | None = None,
          scope: list[str] | None = None, kind: str | None = None, budget: float | None = None) -> Agent:
    """Record a task and its first attempt; start it now if admission allows, else queue it."""
    kind = kind.strip() if kind else None
    chosen = route(sup, kind, advance=True) if (agent or sup.config.default_profile) == AUTO else None
    profile, title, after_task = validate(sup, prompt, agent=chosen.chosen if chosen else agent, title=title,
                                          priority=priority, after=after, max_attempts=max_attempts, scope=scope,
                                          kind=kind, budget=budget)
    problem = sup.config.base_problem()
    if problem:
        raise ConfigError(problem, sup.config.path)
    now = sup.clock()
    with sup.registry.transaction() as conn:
        agent_id = sup.registry.new_id()
        sup.registry.create_task(conn, task_id=agent_id, title=title, prompt=prompt, priority=priority,
                                 profile=profile.name, after_task_id=after_task, max_attempts=max_attempts, now=now,
                                 scope=list(scope or ()), kind=kind, budget_usd=budget)
        sup.registry.create_attempt(conn, attempt_id=agent_id, task_id=agent_id, attempt=1, profile=profile.name,
                                    status=QUEUED, now=now)
        sup.registry.add_event("spawned", agent_id, agent_id, conn=conn, now=now, agent=profile.name,
                               priority=priority, after=after_task, task_kind=kind, budget_usd=budget)
        if chosen is not None:
            sup.registry.add_event("policy", agent_id, agent_id, conn=conn, now=now, decision="route",
                                   note=chosen.note, route=chosen.to_json())
        admitted, claim = sup.admit(agent_id, order=True)
    log.info("%s spawned (%s, %s): %s", agent_id, profile.name, priority, admitted.status)
    if claim is not None:
        return sup.start(agent_id, claim)
    return admitted


__all__ = ["AUTO", "Route", "route", "spawn", "validate"]
