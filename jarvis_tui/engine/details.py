"""``jarvis show --json``: one agent with its prompt, git facts, attempts and decisions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .git import worktrees
from .models import Agent, iso

if TYPE_CHECKING:
    from .supervisor import Supervisor


def details(sup: Supervisor, agent: Agent) -> dict[str, Any]:
    data = agent.to_json()
    data["prompt"] = agent.prompt
    data["preserved_ref"] = agent.preserved_ref
    data["retry_context"] = agent.retry_context
    data["log"] = str(sup.paths.log(agent.id))
    profile = sup.config.profiles.get(agent.agent)
    data["profile"] = {"model": profile.model, "role": profile.role} if profile else None
    data["decisions"] = [  # the engine's automatic decisions about this task, newest last
        {"at": iso(e["at"]), "attempt_id": e["attempt_id"], "decision": e["data"].get("decision", ""),
         "note": e["data"].get("note", ""), "data": e["data"]}
        for e in sup.registry.events(task_id=agent.task_id, kinds=("policy",), limit=50, newest=True)
    ]
    worktree = Path(agent.worktree) if agent.worktree else None
    info = worktrees.details(sup.repo, worktree, agent.branch, agent.base_commit) if agent.branch else None
    data["commits_ahead"] = info.commits_ahead if info else 0
    data["last_commit"] = info.last_commit if info and info.commits_ahead else None
    data["dirty"] = info.dirty if info else None
    data["attempts"] = [
        {"id": a.id, "attempt": a.attempt, "status": a.status, "exit_code": a.exit_code,
         "status_reason": a.status_reason, "fires": [f.to_json() for f in a.fires]}
        for a in sup.registry.attempts_of(agent.task_id)
    ]
    return data


__all__ = ["details"]
