"""Merging an agent's work (``jarvis merge``), and pruning what merged work left behind.

Only an ended agent is merged (``done``; ``failed``/``fired`` with ``force_ended``), under
its ``merge`` claim. The git layer (:mod:`.git.merge`) builds the result without a checkout
and moves the branch by compare-and-swap; a conflict or a refusal changes nothing. Then the
agent is ``merged`` (``merged_at``, ``merge_commit``, ``merged_into``), its worktree goes
(any file left out of the merge is preserved first), and its branch stays unless
``delete_branch`` and it is fully merged.

Uncommitted files the agent left are merged only with ``include_uncommitted`` (from a
snapshot of them); otherwise the result says they exist and were left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import claims, git
from .errors import SupervisorError, UsageError
from .git import merge as git_merge
from .git import prune as git_prune
from .git import review as git_review
from .git import worktrees
from .lifecycle import Action, Event, require
from .models import Agent
from .reviewing import base_branch, source_of
from .stop import retire

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.merging")


class MergeConflict(SupervisorError):
    """Merging would conflict: nothing changed. ``paths`` lists the conflicting files, ``into``
    names the branch."""

    def __init__(self, agent_id: str, conflict: git_merge.MergeConflict) -> None:
        self.paths = list(conflict.paths)
        self.into = conflict.into
        self.context = conflict.retry_context
        super().__init__(
            f"merging {agent_id} would conflict ({conflict}); nothing was changed. "
            f"Retry the agent with the conflict as its context: jarvis retry {agent_id}"
        )


@dataclass
class Merged:
    agent: Agent
    result: git_merge.MergeResult
    left_out: bool  # uncommitted files existed and were not merged
    deleted_branch: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "id": self.agent.id,
            "status": self.agent.status,
            "outcome": str(r.outcome),
            "into": r.into,
            "previous": r.previous,
            "new": r.new,
            "files": list(r.files),
            "dry_run": r.dry_run,
            "where": str(r.where) if r.where else None,
            "commits": list(r.commits),
            "skipped": list(r.skipped),
            "uncommitted_left_out": self.left_out,
            "deleted_branch": self.deleted_branch,
            "merged_at": self.agent.to_json()["merged_at"],
            "summary": r.summary,
            "notes": self.notes,
        }


def merge(
    sup: Supervisor,
    ident: str,
    *,
    strategy: str = "merge",
    into: str | None = None,
    message: str | None = None,
    dry_run: bool = False,
    include_uncommitted: bool = False,
    force_ended: bool = False,
    delete_branch: bool = False,
) -> Merged:
    agent = sup.get(ident)
    require(agent, Action.MERGE, force_ended=force_ended)
    if strategy not in {s.value for s in git_merge.Strategy}:
        raise UsageError(
            f"unknown strategy {strategy!r} (choose from {', '.join(s.value for s in git_merge.Strategy)})"
        )
    target = into or base_branch(sup, agent)
    claim = claims.take(sup.registry, agent.id, "merge", now=sup.clock())
    try:
        agent = sup.registry.get(agent.id)
        require(agent, Action.MERGE, force_ended=force_ended)
        source, left_out = _source(sup, agent, include_uncommitted)
        try:
            result = git_merge.merge(sup.repo, source, into=target, strategy=strategy, message=message, dry_run=dry_run)
        except git_merge.MergeConflict as exc:
            sup.registry.add_event(
                "merge_conflict",
                agent.id,
                agent.task_id,
                into=target,
                strategy=strategy,
                paths=list(exc.paths),
                context=exc.retry_context,
            )
            raise MergeConflict(agent.id, exc) from None
        except git_merge.MergeRefused as exc:
            raise SupervisorError(f"cannot merge {agent.id}: {exc}") from None
        merged = Merged(agent, result, left_out)
        if left_out:
            merged.notes.append("uncommitted files exist and were left out (merge them with --include-uncommitted)")
        if dry_run:
            return merged
        now = sup.clock()
        moved = sup.transition(
            agent,
            Event.MERGE,
            reason=f"merged into {result.into} ({result.outcome})",
            claim=claim,
            event_data={"into": result.into, "commit": result.new, "outcome": str(result.outcome)},
            merged_at=now,
            merge_commit=result.new,
            merged_into=result.into,
        )
        if moved is None:
            raise SupervisorError(f"agent {agent.id} changed while being merged; the branch did move ({result.new})")
        sup.registry.add_event(
            "merged",
            agent.id,
            agent.task_id,
            into=result.into,
            commit=result.new,
            outcome=str(result.outcome),
            files=len(result.files),
        )
        log.info("%s merged into %s: %s", agent.id, result.into, result.summary)
        merged.agent = retire(sup, moved)  # its work is in the branch; anything left out is kept first
        if delete_branch and agent.branch:
            merged.deleted_branch = _delete_branch(sup, agent, result.into, merged.notes)
        return merged
    finally:
        claims.release(sup.registry, agent.id, claim)


def _source(sup: Supervisor, agent: Agent, include_uncommitted: bool) -> tuple[str, bool]:
    """(what to merge, whether uncommitted work exists that is left out of it)."""
    where = source_of(sup, agent)
    if "worktree" in where:
        snapshot = worktrees.snapshot(
            where["worktree"],
            f"refs/jarvis/kept/{agent.id}",
            f"jarvis: work of {agent.id} ({agent.status}) for merging",
        )
        if snapshot is not None:
            sup.registry.update_attempt(agent.id, preserved_ref=f"refs/jarvis/kept/{agent.id}")
            return (
                (snapshot, False)
                if include_uncommitted
                else (worktrees.resolve_commit(where["worktree"], "HEAD"), True)
            )
        return worktrees.resolve_commit(where["worktree"], "HEAD"), False
    if "snapshot" in where:
        ref = where["snapshot"]
        trees = git.run(sup.repo, "rev-parse", f"{ref}^{{tree}}", f"{ref}^^{{tree}}").split()
        uncommitted = trees[0] != trees[1]
        if include_uncommitted or not uncommitted:
            return ref, False
        return worktrees.resolve_commit(sup.repo, f"{ref}^"), True
    return str(where["head"]), False


def _delete_branch(sup: Supervisor, agent: Agent, into: str, notes: list[str]) -> str | None:
    try:
        sha = git_prune.delete_branch(sup.repo, agent.branch or "", into=into)
    except git_review.ReviewError as exc:
        notes.append(f"branch {agent.branch} kept: {exc}")
        return None
    notes.append(f"deleted branch {agent.branch} ({sha[:12]}); get it back with: git branch {agent.branch} {sha}")
    return agent.branch


# --------------------------------------------------------------------------- prune


def prune(
    sup: Supervisor, *, merged_only: bool = False, older_than: float | None = None, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Delete the branches and ``refs/jarvis/*`` refs of cleaned-up agents whose work is
    contained elsewhere (never one that is not); each with its sha, to get it back."""
    now = sup.clock()
    candidates: dict[str, Agent] = {}
    for agent in sup.registry.agents(include_removed=True):
        if not (agent.removed or agent.status == "merged"):
            continue
        if merged_only and agent.status != "merged":
            continue
        if older_than is not None and (agent.ended_at or agent.merged_at or now) > now - older_than:
            continue
        if agent.worktree and Path(agent.worktree).exists():
            continue  # still has files on disk: not cleaned up
        for ref in (
            f"refs/heads/{agent.branch}" if agent.branch else None,
            agent.preserved_ref,
            *(f.ref for f in agent.fires),
        ):
            if ref and worktrees.ref_exists(sup.repo, ref):
                candidates[ref] = agent
    if not candidates:
        return []
    keep = [r for r in git.run(sup.repo, "for-each-ref", "--format=%(refname)").split() if r not in candidates]
    done = []
    for check in git_prune.prune_check(sup.repo, list(candidates), keep):
        agent = candidates[check.ref]
        row = {
            "ref": check.ref,
            "sha": check.sha,
            "agent": agent.id,
            "state": str(check.state),
            "reason": check.reason,
            "deleted": False,
        }
        if check.safe and not dry_run:
            git_prune.delete_ref(sup.repo, check.ref, check.sha)
            row["deleted"] = True
            sup.registry.add_event("pruned", agent.id, agent.task_id, ref=check.ref, sha=check.sha)
        row["restore"] = (
            f"git branch {check.ref.removeprefix('refs/heads/')} {check.sha}"
            if check.ref.startswith("refs/heads/")
            else f"git update-ref {check.ref} {check.sha}"
        )
        done.append(row)
    return done


__all__ = ["MergeConflict", "Merged", "merge", "prune"]
