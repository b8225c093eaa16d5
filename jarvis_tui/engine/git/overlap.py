"""Conflicts between agents while they work: who touched which files, and would it conflict.

A scan of the fleet is ``touched_paths`` per agent, then the pure ``overlaps``; only pairs
that share paths are worth the real check, ``would_conflict`` (a merge-tree of both states,
e.g. their review snapshots). Cost per agent (benchmarks/bench_overlap.py, 4,000 files):
two git processes for an active agent (a tree diff of what it committed since the merge
base, and ``git status`` for staged, unstaged and untracked files), one for an agent with
no worktree.

Why not one ``git diff --merge-base BASE`` against the working files: on git 2.39 it writes
refreshed stat data back to the agent's index, ignoring ``GIT_OPTIONAL_LOCKS=0``, and holding
the agent's ``index.lock`` makes the agent's own ``git add`` fail. ``git status`` honours
that variable (git's advice for background pollers), and a diff of two commits reads no index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from .. import git  # this package: the runner (run, probe, ok)
from .review import merge_tree

_READ_ONLY = {"GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True, order=True)
class Overlap:
    """Two agents (``a`` < ``b``) that touched the same paths."""

    a: str
    b: str
    paths: tuple[str, ...]


def _paths(out: str) -> set[str]:
    return {p for p in out.split("\0") if p}


def touched_paths(repo: Path, worktree: Path | None, base_commit: str, head_ref: str = "HEAD") -> set[str]:
    """Paths an agent touched against ``base_commit``: committed since the merge base, plus
    (with a worktree) staged, unstaged and untracked-not-ignored files.

    A rename counts as both its paths (``--no-renames``): the old path is gone for anyone
    else editing it. With a worktree its HEAD is the head; without one, ``head_ref`` (a
    branch, a fired ref) is compared."""
    committed = committed_paths(repo, worktree, base_commit, head_ref)
    return committed if worktree is None else committed | uncommitted_paths(worktree)


def committed_paths(repo: Path, worktree: Path | None, base_commit: str, head_ref: str = "HEAD") -> set[str]:
    """Paths the commits since the merge base with ``base_commit`` changed (worktree: its HEAD)."""
    out = git.run(
        repo if worktree is None else worktree,
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--no-ext-diff",
        f"{base_commit}...{head_ref if worktree is None else 'HEAD'}",
        "--",
        strip=False,
    )
    return _paths(out)


def uncommitted_paths(worktree: Path) -> set[str]:
    """Staged, unstaged and untracked-not-ignored paths of a worktree (never takes its index lock)."""
    status = git.run(
        worktree, "status", "--porcelain", "-z", "--no-renames", "--untracked-files=all", env=_READ_ONLY, strip=False
    )
    return {entry[3:] for entry in status.split("\0") if len(entry) > 3}


def overlaps(paths_by_agent: Mapping[str, Iterable[str]]) -> list[Overlap]:
    """Every pair of agents with shared paths, sorted; linear in the paths plus the pairs."""
    owners: dict[str, list[str]] = {}
    for agent in sorted(paths_by_agent):
        for path in set(paths_by_agent[agent]):
            owners.setdefault(path, []).append(agent)
    shared: dict[tuple[str, str], list[str]] = {}
    for path, agents in owners.items():
        for pair in combinations(agents, 2):  # agents are in sorted order: a < b
            shared.setdefault(pair, []).append(path)
    return [Overlap(a, b, tuple(sorted(paths))) for (a, b), paths in sorted(shared.items())]


def would_conflict(repo: Path, commit_a: str, commit_b: str) -> list[str]:
    """The paths that would conflict if both states were merged (empty: they merge cleanly).

    Pass snapshot commits (:func:`.review.snapshot_worktree`) to include uncommitted work."""
    return list(merge_tree(repo, commit_a, commit_b).conflicts)


__all__ = ["Overlap", "committed_paths", "overlaps", "touched_paths", "uncommitted_paths", "would_conflict"]
