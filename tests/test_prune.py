"""Pruning on real git repositories: a ref is reported safe to delete only when nothing it
holds would be lost, and deletion is a compare-and-swap that returns the way back."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, make_repo
from git_helpers import add_worktree, commit_on, write

from jarvis_tui.engine.git import worktrees
from jarvis_tui.engine.git.merge import merge
from jarvis_tui.engine.git.prune import (
    PruneState,
    delete_branch,
    delete_ref,
    is_contained,
    is_merged,
    prune_check,
)
from jarvis_tui.engine.git.review import ReviewError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def branch_with(repo: Path, name: str, files: dict[str, str], start: str = "main") -> str:
    git(repo, "branch", name, start)
    return commit_on(repo, name, files, f"work on {name}")


def refs(repo: Path) -> set[str]:
    return set(git(repo, "for-each-ref", "--format=%(refname)").split())


def test_is_contained_follows_reachability(repo: Path) -> None:
    sha = branch_with(repo, "agent", {"a.txt": "a\n"})
    assert not is_contained(repo, sha, ["refs/heads/main"])
    git(repo, "branch", "release", "agent")
    assert is_contained(repo, sha, ["refs/heads/main", "refs/heads/release"])
    assert not is_contained(repo, sha, [])
    merge(repo, "agent", into="main")
    assert is_contained(repo, sha, ["refs/heads/main"])


def test_prune_check_never_calls_unmerged_work_safe(repo: Path, tmp_path: Path) -> None:
    merged = branch_with(repo, "merged", {"m.txt": "m\n"})
    merge(repo, "merged", into="main")
    branch_with(repo, "unmerged", {"u.txt": "u\n"})
    commit_on(repo, "unmerged", {"u2.txt": "u2\n"}, "more")
    git(repo, "branch", "twin", "unmerged")  # two candidates at one commit do not vouch for each other
    branch_with(repo, "squashed", {"s.txt": "s\n"})
    merge(repo, "squashed", into="main", strategy="squash")
    wt = add_worktree(repo, tmp_path / "wt", "busy")
    # a fired agent: its branch is merged, its preserved ref holds uncommitted work on top
    fired_wt = add_worktree(repo, tmp_path / "fired", "fired-branch")
    write(fired_wt, {"uncommitted.txt": "only here\n"})
    worktrees.snapshot(fired_wt, "refs/jarvis/fired/f1", "jarvis: work of f1")
    worktrees.remove(repo, fired_wt)
    candidates = ["merged", "unmerged", "twin", "squashed", "busy", "fired-branch", "refs/jarvis/fired/f1"]
    checks = {c.ref: c for c in prune_check(repo, candidates, ["main"])}
    assert checks["refs/heads/merged"].state is PruneState.CONTAINED and checks["refs/heads/merged"].safe
    assert checks["refs/heads/merged"].sha == merged
    assert checks["refs/heads/unmerged"].state is PruneState.UNMERGED
    assert checks["refs/heads/unmerged"].unmerged_commits == 2 and checks["refs/heads/unmerged"].sha == git(
        repo, "rev-parse", "unmerged"
    )
    assert checks["refs/heads/twin"].state is PruneState.UNMERGED
    assert checks["refs/heads/squashed"].state is PruneState.CONTENT_MERGED
    assert not checks["refs/heads/squashed"].safe
    assert checks["refs/heads/busy"].state is PruneState.CHECKED_OUT and str(wt) in checks["refs/heads/busy"].reason
    assert checks["refs/heads/fired-branch"].safe  # its commits are all on main
    assert checks["refs/jarvis/fired/f1"].state is PruneState.UNMERGED  # the uncommitted file is not
    assert [c.ref for c in prune_check(repo, candidates, ["main"]) if c.safe] == [
        "refs/heads/merged",
        "refs/heads/fired-branch",
    ]


def test_a_kept_ref_vouches_but_a_candidate_never_vouches_for_itself(repo: Path) -> None:
    branch_with(repo, "agent", {"a.txt": "a\n"})
    git(repo, "branch", "backup", "agent")
    assert prune_check(repo, ["agent"], ["main", "backup"])[0].safe
    assert not prune_check(repo, ["agent"], ["main", "agent"])[0].safe
    assert prune_check(repo, ["agent"], ["main"], content=False)[0].state is PruneState.UNMERGED


def test_unknown_refs_are_errors_not_nothing_to_lose(repo: Path) -> None:
    with pytest.raises(ReviewError, match="no such ref: refs/heads/ghost"):
        prune_check(repo, ["ghost"], ["main"])
    branch_with(repo, "agent", {"a.txt": "a\n"})
    with pytest.raises(ReviewError, match="no such ref: refs/heads/gone"):
        prune_check(repo, ["agent"], ["gone"])


def test_delete_branch_only_when_fully_merged_and_returns_the_sha(repo: Path) -> None:
    sha = branch_with(repo, "agent", {"a.txt": "a\n"})
    with pytest.raises(ReviewError, match="not fully merged"):
        delete_branch(repo, "agent", into="main")
    assert "refs/heads/agent" in refs(repo)
    merge(repo, "agent", into="main", strategy="squash")  # merged by content: deletable
    assert is_merged(repo, sha, "main")
    assert delete_branch(repo, "agent", into="main") == sha
    assert "refs/heads/agent" not in refs(repo)
    git(repo, "branch", "agent", sha)  # the way back


def test_delete_ref_is_a_compare_and_swap_and_spares_checkouts(repo: Path, tmp_path: Path) -> None:
    old = branch_with(repo, "agent", {"a.txt": "a\n"})
    commit_on(repo, "agent", {"b.txt": "b\n"}, "moved since the check")
    with pytest.raises(ReviewError, match="not deleted"):
        delete_ref(repo, "agent", old)
    assert "refs/heads/agent" in refs(repo)
    add_worktree(repo, tmp_path / "wt", "busy")
    with pytest.raises(ReviewError, match="checked out in"):
        delete_ref(repo, "busy", git(repo, "rev-parse", "busy"))
    with pytest.raises(ReviewError, match="checked out in"):
        delete_ref(repo, "main", git(repo, "rev-parse", "main"))
    assert {"refs/heads/busy", "refs/heads/main"} <= refs(repo)
