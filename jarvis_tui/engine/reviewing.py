"""Reviewing an agent's work (``jarvis review``): what it changed against its base branch,
committed and uncommitted, and whether it would merge into that branch's CURRENT tip.

The agent is never touched: a live agent's uncommitted files are read through a copy of its
index (:func:`.git.review.snapshot_worktree`); an ended agent is read from its branch, a
fired or cleaned-up one from its preserved ref.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SupervisorError
from .git import review as git_review
from .git import worktrees
from .lifecycle import Action, require
from .models import Agent, iso

if TYPE_CHECKING:
    from .supervisor import Supervisor


def base_branch(sup: Supervisor, agent: Agent | None = None) -> str:
    """``[supervisor] base`` as a branch name (``HEAD`` resolves to the checked-out branch);
    for an agent spawned with its own base (``--base``, a batch's branch context), that one.

    A base that is a commit, not a branch, cannot receive a merge: refused with the reason.
    """
    if agent is not None and agent.base:
        try:
            return git_review.resolve_branch(sup.repo, agent.base).name
        except git_review.NotABranch:
            raise SupervisorError(
                f"agent {agent.id} started from {agent.base!r}, a commit, not a branch: name a branch with --into"
            ) from None
    problem = sup.config.base_problem()
    if problem:
        raise SupervisorError(problem)
    base = sup.config.supervisor.base
    try:
        return git_review.resolve_branch(sup.repo, base).name
    except git_review.NotABranch:
        raise SupervisorError(
            f"supervisor.base {base!r} is a commit, not a branch: nothing can be merged into it; "
            "name a branch with --into"
        ) from None


def review(sup: Supervisor, ident: str, *, into: str | None = None) -> tuple[Agent, git_review.Review]:
    agent = sup.get(ident)
    require(agent, Action.REVIEW)
    target = into or base_branch(sup, agent)
    try:
        found = git_review.review(sup.repo, target, **source_of(sup, agent))
    except git_review.NotABranch as exc:
        raise SupervisorError(str(exc)) from None
    except git_review.ReviewError as exc:
        raise SupervisorError(f"cannot review {agent.id}: {exc}") from None
    if agent.scope and into is None:  # outside its scope: from everything it changed, not the last scan
        from .conflicts import settle_scope

        touched = {f.path for f in found.files} | {f.old_path for f in found.files if f.old_path}
        agent = settle_scope(sup, agent, touched)
    return agent, found


def source_of(sup: Supervisor, agent: Agent) -> dict[str, Any]:
    """Where an agent's work is now: its worktree, its preserved ref, or its branch."""
    if agent.worktree and Path(agent.worktree).is_dir() and worktrees.verify(sup.repo, Path(agent.worktree)) is None:
        return {"worktree": Path(agent.worktree)}
    if agent.preserved_ref and worktrees.ref_exists(sup.repo, agent.preserved_ref):
        return {"snapshot": agent.preserved_ref}
    if agent.branch and worktrees.ref_exists(sup.repo, f"refs/heads/{agent.branch}"):
        return {"head": agent.branch}
    raise SupervisorError(f"agent {agent.id}: its worktree, preserved ref and branch are all gone; nothing to review")


def to_json(agent: Agent, found: git_review.Review) -> dict[str, Any]:
    preview = found.preview
    return {
        "id": agent.id,
        "status": agent.status,
        "into": found.into,
        "target_tip": found.target_tip,
        "merge_base": found.merge_base,
        "head": found.head,
        "source": found.source,
        "commits": [{"sha": c.sha, "subject": c.subject, "author": c.author, "at": iso(c.at)} for c in found.commits],
        "files": [
            {
                "path": f.path,
                "status": str(f.status),
                "old_path": f.old_path,
                "added": f.added,
                "deleted": f.deleted,
                "binary": f.binary,
            }
            for f in found.files
        ],
        "uncommitted": found.uncommitted,
        "preview": {"status": str(preview.status), "conflicts": list(preview.conflicts), "summary": preview.summary},
        "check": agent.check,
        "overlaps": agent.live_overlaps,
        "out_of_scope": agent.out_of_scope,
    }


def patch(sup: Supervisor, found: git_review.Review, path: str | None = None) -> str:
    return git_review.patch(sup.repo, found.target_tip, found.source, path)


__all__ = ["base_branch", "patch", "review", "source_of", "to_json"]
