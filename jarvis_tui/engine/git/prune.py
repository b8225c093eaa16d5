"""Which branches and refs can go without losing work, and deleting them safely.

Safe means every commit of the ref is reachable from a ref we keep (the base branch,
another kept branch): deleting it loses nothing. Candidates never vouch for each other: two
unmerged branches at the same commit are both unmerged.

A branch that was squash- or rebase-merged is not contained (its commits are not on the
base), but its CHANGES are: merging it again would change nothing. That state is reported
separately ("content merged"): deleting it loses the commits' history, not a line of work.
Each answer carries the sha, so the user can get a deleted ref back (``git branch NAME SHA``).
Deletion is a compare-and-swap (``update-ref -d REF SHA``): a ref that moved since it was
checked is not deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .. import git  # this package: the runner (run, probe, ok)
from .checkouts import checkouts
from .review import ReviewError, is_ancestor, merge_tree, resolve_commit


class PruneState(StrEnum):
    CONTAINED = "contained"  # every commit is reachable from a kept ref: safe
    CONTENT_MERGED = "content merged"  # its changes are in a kept ref, its commits are not
    UNMERGED = "unmerged"  # deleting it would lose work
    CHECKED_OUT = "checked out"  # in use by a worktree: never deleted


@dataclass(frozen=True)
class PruneCheck:
    ref: str  # full ref name, e.g. refs/heads/agent/fix-login
    sha: str  # what it pointed at: the way back after deleting it
    state: PruneState
    reason: str
    unmerged_commits: int = 0  # commits not reachable from any kept ref

    @property
    def safe(self) -> bool:
        return self.state is PruneState.CONTAINED


def full_ref(name: str) -> str:
    """``agent/x`` -> ``refs/heads/agent/x``; names already under ``refs/`` stay."""
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def is_contained(repo: Path, commit: str, into_refs: Iterable[str]) -> bool:
    """Is every commit of ``commit`` reachable from one of ``into_refs``?"""
    return _unmerged_count(repo, commit, list(into_refs)) == 0


def _unmerged_count(repo: Path, commit: str, keep: list[str]) -> int:
    if not keep:
        return int(git.run(repo, "rev-list", "--count", commit, "--"))
    return int(git.run(repo, "rev-list", "--count", commit, "--not", *keep, "--"))


def content_merged(repo: Path, commit: str, into: str) -> bool:
    """Would merging ``commit`` into ``into`` change no file? (It was squash- or rebase-merged,
    or the same change landed another way.)"""
    merged = merge_tree(repo, into, commit)
    return merged.clean and merged.tree == git.run(repo, "rev-parse", f"{into}^{{tree}}")


def is_merged(repo: Path, commit: str, into: str) -> bool:
    """Fully merged into ``into``: contained in it, or all its changes already there."""
    return is_ancestor(repo, commit, into) or content_merged(repo, commit, into)


def prune_check(
    repo: Path, candidates: Iterable[str], keep: Iterable[str], *, content: bool = True
) -> list[PruneCheck]:
    """For each candidate ref, whether deleting it loses work, with its sha.

    ``keep`` are the refs that stay (the base branch, other branches); a candidate is never
    counted as keeping itself or another candidate. ``content`` also checks whether an
    uncontained candidate's changes are already in a kept ref (one merge-tree per kept ref)."""
    keep_refs = [full_ref(k) for k in keep]
    names = [full_ref(c) for c in candidates]
    shas = _tips(repo, names + keep_refs)  # also: an unknown kept ref is an error
    in_use = checkouts(repo)
    checks = []
    for ref in names:
        sha = shas[ref]
        kept = [k for k in keep_refs if k != ref]
        if ref in in_use:
            checks.append(PruneCheck(ref, sha, PruneState.CHECKED_OUT, f"checked out in {in_use[ref]}"))
            continue
        missing = _unmerged_count(repo, sha, kept)
        if missing == 0:
            checks.append(PruneCheck(ref, sha, PruneState.CONTAINED, f"contained in {_names(kept)}"))
            continue
        into = next((k for k in kept if content and content_merged(repo, sha, k)), None)
        if into is not None:
            checks.append(
                PruneCheck(
                    ref,
                    sha,
                    PruneState.CONTENT_MERGED,
                    f"its changes are in {_names([into])}; {missing} commits are not",
                    missing,
                )
            )
        else:
            checks.append(
                PruneCheck(
                    ref, sha, PruneState.UNMERGED, f"{missing} commits not in {_names(kept) or 'any kept ref'}", missing
                )
            )
    return checks


def _names(refs: list[str]) -> str:
    return ", ".join(r.removeprefix("refs/heads/") for r in refs)


def _tips(repo: Path, refs: list[str]) -> dict[str, str]:
    """The sha of each ref, in one process; an unknown ref is an error, not "nothing to lose"."""
    if not refs:
        return {}
    out = git.run(repo, "for-each-ref", "--format=%(refname) %(objectname)", *refs)
    found = dict(line.rsplit(" ", 1) for line in out.splitlines())
    unknown = [r for r in refs if r not in found]
    if unknown:
        raise ReviewError(f"no such ref: {', '.join(unknown)}")
    return {r: found[r] for r in refs}


def delete_ref(repo: Path, ref: str, sha: str) -> None:
    """Delete ``ref`` only if it still points at ``sha`` and is not checked out anywhere."""
    ref = full_ref(ref)
    where = checkouts(repo).get(ref)
    if where is not None:
        raise ReviewError(f"{ref} is checked out in {where}: not deleted")
    proc = git.probe(repo, "update-ref", "-d", ref, sha)
    if proc.returncode != 0:
        raise ReviewError(f"{ref} was not deleted (it moved since it was checked?): {proc.stderr.strip()}")


def delete_branch(repo: Path, branch: str, *, into: str) -> str:
    """Delete ``branch`` only when it is fully merged into ``into`` (contained, or all its
    changes there); returns the sha it pointed at, the way back."""
    ref = full_ref(branch)
    sha = resolve_commit(repo, ref)
    if not is_merged(repo, sha, into):
        raise ReviewError(f"{branch} is not fully merged into {into}: not deleted")
    delete_ref(repo, ref, sha)
    return sha


__all__ = [
    "PruneCheck",
    "PruneState",
    "content_merged",
    "delete_branch",
    "delete_ref",
    "full_ref",
    "is_contained",
    "is_merged",
    "prune_check",
]
