"""Spawning: check a request, record the task and its first attempt, admit or queue it.

Validation happens before anything is created (nothing half-made): the profile, the
priority, the prompt (non-empty, no NUL, not too long for an argv), the dependency, and the
base commit agents branch from.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigError, Profile
from .errors import UsageError
from .launch import agent_argv, argv_problem
from .models import QUEUED, Agent
from .vocabulary import PRIORITIES

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.spawn")


def validate(sup: Supervisor, prompt: str, *, agent: str | None = None, title: str | None = None,
             priority: str = "medium", after: str | None = None,
             max_attempts: int | None = None, scope: list[str] | None = None) -> tuple[Profile, str, str | None]:
    """Check a spawn request without starting anything: (profile, title, after task id).

    Raises UsageError (or UnknownAgent for --after) with a message for the user; cheap
    (config and one registry read), so a dialog can call it before it closes.
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
    if title is None or not title.strip():
        title = prompt.strip().splitlines()[0][:72]
    probe = Agent(id="000000", task_id="000000", title=title, prompt=prompt, agent=profile.name,
                  priority=priority, status=QUEUED, attempt=1, created_at=0.0)
    too_long = argv_problem(*agent_argv(sup, probe, profile, Path("/worktree"), "jarvis/branch"))
    if too_long:
        raise UsageError(f"profile {profile.name}: {too_long}")
    after_task = sup.get(after).task_id if after else None
    return profile, title, after_task


def spawn(sup: Supervisor, prompt: str, *, agent: str | None = None, title: str | None = None,
          priority: str = "medium", after: str | None = None, max_attempts: int | None = None,
          scope: list[str] | None = None) -> Agent:
    """Record a task and its first attempt; start it now if admission allows, else queue it."""
    profile, title, after_task = validate(sup, prompt, agent=agent, title=title, priority=priority, after=after,
                                          max_attempts=max_attempts, scope=scope)
    problem = sup.config.base_problem()
    if problem:
        raise ConfigError(problem, sup.config.path)
    now = sup.clock()
    with sup.registry.transaction() as conn:
        agent_id = sup.registry.new_id()
        sup.registry.create_task(conn, task_id=agent_id, title=title, prompt=prompt, priority=priority,
                                 profile=profile.name, after_task_id=after_task, max_attempts=max_attempts, now=now,
                                 scope=list(scope or ()))
        sup.registry.create_attempt(conn, attempt_id=agent_id, task_id=agent_id, attempt=1, profile=profile.name,
                                    status=QUEUED, now=now)
        sup.registry.add_event("spawned", agent_id, agent_id, conn=conn, now=now, agent=profile.name,
                               priority=priority, after=after_task)
        admitted, claim = sup.admit(agent_id, order=True)
    log.info("%s spawned (%s, %s): %s", agent_id, profile.name, priority, admitted.status)
    if claim is not None:
        return sup.start(agent_id, claim)
    return admitted


__all__ = ["spawn", "validate"]
