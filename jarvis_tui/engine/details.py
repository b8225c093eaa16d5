"""``jarvis show --json``: one agent with its prompt, git facts, attempts, decisions and notes;
and :func:`output` (its log's tail, or its screen) for faces that return data, not a stream."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import logs, notes
from .errors import SupervisorError, UsageError
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
        {
            "at": iso(e["at"]),
            "attempt_id": e["attempt_id"],
            "decision": e["data"].get("decision", ""),
            "note": e["data"].get("note", ""),
            "data": e["data"],
        }
        for e in sup.registry.events(task_id=agent.task_id, kinds=("policy",), limit=50, newest=True)
    ]
    worktree = Path(agent.worktree) if agent.worktree else None
    info = worktrees.details(sup.repo, worktree, agent.branch, agent.base_commit) if agent.branch else None
    data["commits_ahead"] = info.commits_ahead if info else 0
    last = info.last_commit if info and info.commits_ahead else None
    at = last.get("at") if last else None
    data["last_commit"] = {**last, "at": iso(at if isinstance(at, float) else None)} if last else None  # ISO, as all
    data["dirty"] = info.dirty if info else None
    data["attempts"] = [
        {
            "id": a.id,
            "attempt": a.attempt,
            "status": a.status,
            "exit_code": a.exit_code,
            "status_reason": a.status_reason,
            "fires": [f.to_json() for f in a.fires],
        }
        for a in sup.registry.attempts_of(agent.task_id)
    ]
    data["notes"] = [n.to_json() for n in notes.notes(sup, tasks=[agent.task_id])]
    latest = {a.task_id: a for a in sup.registry.agents(include_removed=True, latest_only=True)}
    waiting_on_it = sup.registry.query(
        "SELECT task_id FROM task_deps WHERE dep_task_id = ? ORDER BY task_id", (agent.task_id,)
    )
    data["dependencies"] = [_brief(latest[t]) for t in agent.dependencies if t in latest]
    data["dependants"] = [_brief(latest[r["task_id"]]) for r in waiting_on_it if r["task_id"] in latest]
    findings = sup.paths.findings(agent.id)
    data["findings_file"] = str(findings) if findings.exists() else None
    return data


def output(sup: Supervisor, ident: str, *, lines: int = 50, screen: bool = False) -> dict[str, Any]:
    """An agent's output as data: the last ``lines`` lines of its log (normalised: no escapes),
    or ``screen``: its pane as it looks now (the honest view of a full-screen agent)."""
    if not 1 <= lines <= 100_000:
        raise UsageError("lines must be between 1 and 100000")
    agent = sup.get(ident)
    data: dict[str, Any] = {"id": agent.id, "status": agent.status, "log": str(sup.paths.log(agent.id))}
    if not screen:
        return data | {"lines": logs.tail(sup.paths.log(agent.id), lines)}
    sup.reconcile()
    agent = sup.registry.get(agent.id)
    if not agent.pane_id or agent.tmux_session not in sup.tmux.sessions():
        raise SupervisorError(f"agent {agent.id} has no live pane ({agent.status}); read its log instead")
    return data | {"status": agent.status, "screen": sup.tmux.capture(agent.pane_id, escapes=False).rstrip("\n")}


def _brief(agent: Agent) -> dict[str, Any]:
    return {"task_id": agent.task_id, "id": agent.id, "status": agent.status, "title": agent.title}


__all__ = ["details", "output"]
