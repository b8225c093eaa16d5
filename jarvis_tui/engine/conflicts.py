"""Conflicts between agents, before they happen: overlapping edits and file scopes.

- :func:`scan` (the engine, every ``[review] scan_interval`` seconds, in the lease holder,
  off the UI thread): the paths each live agent touched against its base (committed,
  uncommitted, untracked; none that takes its index lock), the agents that share paths
  (``overlaps`` in each record), and paths written outside an agent's scope
  (``out_of_scope``: flagged with an event, never killed). An agent with no new output since
  the last scan is not scanned again; one that printed costs one ``git status``, plus a
  ``git diff`` of its commits only when its HEAD may have moved (a stamp of HEAD's files).
- :func:`report` (``jarvis conflicts``): every overlapping pair with the shared paths and
  whether merging both would REALLY conflict (a merge-tree of both states).
- :func:`shared_with`: the same, for ONE agent and the agents its last scan named (the
  detail view): git work for those agents only, not the whole fleet.
- :func:`scope_holder`: for admission, the running agent whose scope overlaps a queued
  agent's scope (the orchestrator's file locks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SupervisorError
from .git import overlap as git_overlap
from .git import review as git_review
from .git import scopes as git_scopes
from .git import worktrees
from .git.facts import Stamp, head_stamp
from .models import ACTIVE, RUNNING, Agent
from .schema import ATTEMPT_FIELDS

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.conflicts")


@dataclass
class Scanner:
    """Remembers what each agent touched, to scan again only agents that printed since."""

    paths: dict[str, set[str]] = field(default_factory=dict)
    seen_output: dict[str, float | None] = field(default_factory=dict)
    committed: dict[str, tuple[Stamp, set[str]]] = field(default_factory=dict)  # by HEAD's stamp

    def scan(self, sup: Supervisor) -> list[git_overlap.Overlap]:
        agents = [a for a in sup.registry.agents() if a.status in RUNNING and a.base_commit and a.worktree]
        alive = {a.id for a in agents}
        for gone in set(self.paths) - alive:
            self.paths.pop(gone, None)
            self.seen_output.pop(gone, None)
            self.committed.pop(gone, None)
        for agent in agents:
            if agent.id in self.paths and self.seen_output.get(agent.id) == agent.last_output_at:
                continue  # quiet since the last scan: its files have not changed
            worktree = Path(agent.worktree or "")
            try:
                committed = self._committed(sup, agent, worktree)
                self.paths[agent.id] = committed | git_overlap.uncommitted_paths(worktree)
            except Exception as exc:  # noqa: BLE001 - a worktree being removed right now: next scan
                log.debug("%s: cannot scan %s: %s", agent.id, worktree, exc)
                continue
            self.seen_output[agent.id] = agent.last_output_at
        found = git_overlap.overlaps(self.paths)
        partners: dict[str, set[str]] = {a: set() for a in self.paths}
        for pair in found:
            partners[pair.a].add(pair.b)
            partners[pair.b].add(pair.a)
        for agent in agents:
            if agent.id in self.paths:
                self._record(sup, agent, sorted(partners.get(agent.id, ())), self.paths[agent.id])
        return found

    def _committed(self, sup: Supervisor, agent: Agent, worktree: Path) -> set[str]:
        """What its commits touched, counted again only when HEAD may have moved (the stamp is
        read before git runs: a commit made meanwhile shows as a new stamp next time)."""
        stamp = head_stamp(worktree)
        known = self.committed.get(agent.id)
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        paths = git_overlap.committed_paths(sup.repo, worktree, agent.base_commit or "")
        if stamp is not None:
            self.committed[agent.id] = (stamp, paths)
        return paths

    def _record(self, sup: Supervisor, agent: Agent, overlapping: list[str], paths: set[str]) -> None:
        changes = scope_changes(sup, agent, paths)
        if overlapping != agent.overlaps:
            changes["overlaps"] = overlapping
            new = sorted(set(overlapping) - set(agent.overlaps))
            if new:
                sup.registry.add_event("overlap", agent.id, agent.task_id, with_agents=new)
        if changes:
            with sup.registry.transaction() as conn:
                sup.registry.write_row(conn, agent.id, changes, columns=ATTEMPT_FIELDS)


def scope_changes(sup: Supervisor, agent: Agent, paths: set[str]) -> dict[str, Any]:
    """``{"out_of_scope": [...]}`` if the paths it touched now leave its scope differently from
    its record (new ones get an ``out_of_scope`` event), else ``{}``."""
    outside = git_scopes.out_of_scope(paths, agent.scope) if agent.scope else []
    if outside == agent.out_of_scope:
        return {}
    new_paths = sorted(set(outside) - set(agent.out_of_scope))
    if new_paths:
        sup.registry.add_event("out_of_scope", agent.id, agent.task_id, paths=new_paths, scope=agent.scope)
        log.info("%s wrote outside its scope %s: %s", agent.id, agent.scope, new_paths)
    return {"out_of_scope": outside}


def settle_scope(sup: Supervisor, agent: Agent, paths: set[str]) -> Agent:
    """The agent's out-of-scope paths from a full list of what it changed (a review's files):
    the periodic scan never sees an agent that ended between two scans."""
    changes = scope_changes(sup, agent, paths)
    if not changes:
        return agent
    with sup.registry.transaction() as conn:
        sup.registry.write_row(conn, agent.id, changes, columns=ATTEMPT_FIELDS)
    return sup.registry.get(agent.id)


def report(sup: Supervisor) -> list[dict[str, Any]]:
    """Overlapping pairs of live agents, the shared paths, and whether merging both conflicts."""
    scanner = Scanner()
    pairs = scanner.scan(sup)
    if not pairs:
        return []
    agents = {a.id: a for a in sup.registry.agents()}
    states: dict[str, str] = {}
    for agent_id in {x for p in pairs for x in (p.a, p.b)}:
        worktree = agents[agent_id].worktree
        if worktree:
            states[agent_id] = git_review.snapshot_worktree(Path(worktree)).commit
    out = []
    for pair in pairs:
        conflicting = (
            git_overlap.would_conflict(sup.repo, states[pair.a], states[pair.b])
            if pair.a in states and pair.b in states
            else []
        )
        out.append(
            {
                "agents": [pair.a, pair.b],
                "paths": list(pair.paths),
                "conflict": bool(conflicting),
                "conflicting_paths": conflicting,
            }
        )
    return out


def shared_with(sup: Supervisor, agent: Agent) -> list[dict[str, Any]]:
    """For each agent in ``agent.overlaps`` (the last scan's), the paths both touch NOW and
    whether merging both would conflict; ``[]`` when it overlaps nobody. Agents that ended
    since are read from their branch."""
    if not agent.overlaps:
        return []
    mine = _state(sup, agent)
    if mine is None:
        return []
    out = []
    for other_id in agent.overlaps:
        try:
            other = sup.registry.get(other_id)
        except SupervisorError:  # removed since the scan
            continue
        theirs = _state(sup, other)
        if theirs is None:
            continue
        paths = sorted(mine[0] & theirs[0])
        if not paths:
            continue
        conflicting = git_overlap.would_conflict(sup.repo, mine[1], theirs[1])
        out.append(
            {
                "agent": other.id,
                "status": other.status,
                "paths": paths,
                "conflict": bool(conflicting),
                "conflicting_paths": conflicting,
            }
        )
    return out


def _state(sup: Supervisor, agent: Agent) -> tuple[set[str], str] | None:
    """(paths touched against its base, its files as a commit), or None if nothing is left."""
    if not agent.base_commit:
        return None
    worktree = Path(agent.worktree) if agent.worktree and Path(agent.worktree).is_dir() else None
    if worktree is not None:
        paths = git_overlap.touched_paths(sup.repo, worktree, agent.base_commit)
        return paths, git_review.snapshot_worktree(worktree).commit
    for ref in (agent.preserved_ref, f"refs/heads/{agent.branch}" if agent.branch else None):
        if ref and worktrees.ref_exists(sup.repo, ref):
            return git_overlap.touched_paths(sup.repo, None, agent.base_commit, ref), ref
    return None


def known_paths(sup: Supervisor) -> list[str]:
    """Tracked files at the base (what scopes are compared on), cached per base commit."""
    try:
        base = worktrees.resolve_commit(sup.repo, sup.config.supervisor.base)
    except worktrees.WorktreeError:
        return []
    cache = sup.cache.get("known_paths")
    if cache is None or cache[0] != base:
        from . import git

        files = git.run(sup.repo, "ls-tree", "-r", "--name-only", "-z", base, strip=False).split("\0")
        cache = (base, [f for f in files if f])
        sup.cache["known_paths"] = cache
    return list(cache[1])


def scope_holder(sup: Supervisor, agent: Agent, active: list[Agent]) -> tuple[str, Agent] | None:
    """(the pattern, the running agent holding it) when ``agent``'s scope overlaps another's."""
    if not agent.scope:
        return None
    known = known_paths(sup)
    for other in active:
        if other.id == agent.id or other.status not in ACTIVE or not other.scope:
            continue
        if git_scopes.scopes_overlap(agent.scope, other.scope, known):
            for pattern in other.scope:
                if git_scopes.scopes_overlap(agent.scope, [pattern], known):
                    return pattern, other
            return other.scope[0], other
    return None


__all__ = ["Scanner", "known_paths", "report", "scope_holder", "shared_with"]
