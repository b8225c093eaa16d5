"""Removing ended agents (``jarvis rm``): processes, session and worktree go; the branch and
every uncommitted file (``refs/jarvis/kept/<id>``) stay.

Under the agent's ``remove`` claim, so ten ``rm`` of one agent at once make one snapshot and
one removal; the others are told it is already being removed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import claims
from .lifecycle import Action, require
from .models import Agent
from .stop import retire

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.cleanup")


def remove(sup: Supervisor, ident: str) -> Agent:
    """Clean up a finished agent: session and worktree go, branch and preserved work stay."""
    agent = sup.get(ident)
    require(agent, Action.REMOVE)
    claim = claims.take(sup.registry, agent.id, "remove", now=sup.clock())
    try:
        agent = sup.registry.get(agent.id)
        require(agent, Action.REMOVE)  # removed or changed while we waited for the lock
        return finish_remove(sup, agent)
    finally:
        claims.release(sup.registry, agent.id, claim)


def finish_remove(sup: Supervisor, agent: Agent) -> Agent:
    """The removal itself, under the caller's claim (also recovery's, after a crash)."""
    agent = retire(sup, agent)
    with sup.registry.transaction() as conn:
        sup.registry.write_row(conn, agent.id, {"removed": True}, columns={"removed"})
        sup.registry.add_event(
            "removed", agent.id, agent.task_id, conn=conn, status=str(agent.status), ref=agent.preserved_ref
        )
    log.info(
        "%s removed (%s); branch %s kept%s",
        agent.id,
        agent.status,
        agent.branch,
        f", uncommitted work at {agent.preserved_ref}" if agent.preserved_ref else "",
    )
    return sup.registry.get(agent.id)


__all__ = ["finish_remove", "remove"]
