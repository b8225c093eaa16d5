"""Reviewing an agent's work on real git repositories: active (worktree, uncommitted files
snapshotted without touching anything), ended (branch) and fired (preserved ref) agents,
and the merge preview against the base branch's current tip."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, make_repo
from git_helpers import add_worktree, commit, commit_on, fingerprint, write

from jarvis_tui.engine.git import worktrees
from jarvis_tui.engine.git.merge import merge
from jarvis_tui.engine.git.review import (
    FileChange,
    FileStatus,
    NotABranch,
    PreviewStatus,
    ReviewError,
    patch,
    preview,
    review,
    snapshot_worktree,
)

BINARY = bytes(range(256)) * 4
LONG = "".join(f"line {i} of a file that will be renamed\n" for i in range(20))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    commit(repo, {"old_name.txt": LONG, "gone.txt": "one\ntwo\nthree\n"}, "more files")
    return repo


def busy_worktree(repo: Path, path: Path) -> Path:
    """An agent mid-task: one commit, then modified, deleted, renamed, untracked and binary files."""
    wt = add_worktree(repo, path, "agent")
    commit(wt, {"feature.py": "a = 1\nb = 2\nc = 3\n"}, "Add the feature")
    write(wt, {"src.py": "print('changed')\n", "gone.txt": None, "notes.md": "# notes\nmore\n", "logo.png": BINARY})
    (wt / "old_name.txt").rename(wt / "new_name.txt")
    return wt


def by_path(files: tuple[FileChange, ...]) -> dict[str, FileChange]:
    return {f.path: f for f in files}


def test_review_of_a_worktree_covers_committed_and_uncommitted_work_and_touches_nothing(
    repo: Path, tmp_path: Path
) -> None:
    wt = busy_worktree(repo, tmp_path / "wt")
    before = fingerprint(repo, wt)
    result = review(repo, "main", worktree=wt)
    assert fingerprint(repo, wt) == before  # no ref, no index, no file changed (the main checkout's neither)
    assert result.uncommitted is True
    assert result.head == git(wt, "rev-parse", "HEAD") != result.source
    assert git(repo, "rev-parse", f"{result.source}^") == result.head
    assert [c.subject for c in result.commits] == ["Add the feature"]
    assert result.commits[0].author == "test" and result.commits[0].email == "test@example.invalid"
    assert result.commits[0].at == float(git(repo, "log", "-1", "--format=%at", result.head))
    files = by_path(result.files)
    assert set(files) == {"feature.py", "src.py", "gone.txt", "new_name.txt", "notes.md", "logo.png"}
    assert (files["feature.py"].status, files["feature.py"].added, files["feature.py"].deleted) == (
        FileStatus.ADDED,
        3,
        0,
    )
    assert (files["src.py"].status, files["src.py"].added, files["src.py"].deleted) == (FileStatus.MODIFIED, 1, 1)
    assert (files["gone.txt"].status, files["gone.txt"].added, files["gone.txt"].deleted) == (FileStatus.DELETED, 0, 3)
    renamed = files["new_name.txt"]
    assert (renamed.status, renamed.old_path, renamed.added, renamed.deleted) == (
        FileStatus.RENAMED,
        "old_name.txt",
        0,
        0,
    )
    assert (files["notes.md"].status, files["notes.md"].added) == (FileStatus.ADDED, 2)
    assert files["logo.png"].binary and files["logo.png"].status is FileStatus.ADDED
    assert not files["src.py"].binary
    assert result.preview.status is PreviewStatus.CLEAN


def test_a_clean_worktree_is_its_head(repo: Path, tmp_path: Path) -> None:
    wt = add_worktree(repo, tmp_path / "wt", "agent")
    commit(wt, {"feature.py": "x = 1\n"}, "feature")
    state = snapshot_worktree(wt)
    assert (state.uncommitted, state.commit) == (False, state.head)
    write(wt, {"ignored.log": "noise\n", ".gitignore": "*.log\n"})
    assert snapshot_worktree(wt).uncommitted  # .gitignore is untracked work...
    git(wt, "add", ".gitignore")
    git(wt, "commit", "-q", "-m", "ignore logs")
    state = snapshot_worktree(wt)  # ...the ignored log is not
    assert (state.uncommitted, state.commit) == (False, state.head)


def test_review_of_a_branch_with_no_worktree(repo: Path) -> None:
    git(repo, "branch", "agent", "main")
    first = commit_on(repo, "agent", {"a.txt": "a\n"}, "first")
    second = commit_on(repo, "agent", {"b.txt": "b\nb\n"}, "second")
    result = review(repo, "main", "agent")
    assert [(c.sha, c.subject) for c in result.commits] == [(second, "second"), (first, "first")]
    assert result.source == result.head == second and result.uncommitted is False
    assert [(f.path, f.status, f.added) for f in result.files] == [
        ("a.txt", FileStatus.ADDED, 1),
        ("b.txt", FileStatus.ADDED, 2),
    ]


def test_review_of_a_fired_agents_preserved_ref(repo: Path, tmp_path: Path) -> None:
    wt = busy_worktree(repo, tmp_path / "wt")
    branch_tip = git(wt, "rev-parse", "HEAD")
    worktrees.snapshot(wt, "refs/jarvis/fired/a1", "jarvis: work of a1 when fired")  # what fire does
    worktrees.remove(repo, wt)
    result = review(repo, "main", snapshot="refs/jarvis/fired/a1")
    assert result.head == branch_tip and result.uncommitted is True
    assert result.source == git(repo, "rev-parse", "refs/jarvis/fired/a1")
    assert [c.subject for c in result.commits] == ["Add the feature"]
    assert set(by_path(result.files)) == {"feature.py", "src.py", "gone.txt", "new_name.txt", "notes.md", "logo.png"}
    assert review(repo, "main", "agent", snapshot="refs/jarvis/fired/a1").head == branch_tip


def test_preview_is_against_the_current_tip_of_the_base(repo: Path) -> None:
    git(repo, "branch", "agent", "main")
    commit_on(repo, "agent", {"src.py": "print('agent')\n"}, "agent edits src")
    assert preview(repo, "main", "agent").status is PreviewStatus.CLEAN
    commit(repo, {"src.py": "print('main')\n", "README.md": "# moved on\n"}, "main edits src too")
    result = preview(repo, "main", "agent")
    assert result.status is PreviewStatus.CONFLICTS and result.conflicts == ("src.py",)
    assert result.target_tip == git(repo, "rev-parse", "main")
    assert result.summary == "conflicts with main in src.py"
    assert review(repo, "main", "agent").preview.conflicts == ("src.py",)


def test_preview_says_already_merged(repo: Path) -> None:
    git(repo, "branch", "agent", "main")
    commit_on(repo, "agent", {"a.txt": "a\n"}, "a")
    merge(repo, "agent", into="main")
    result = preview(repo, "main", "agent")
    assert (result.status, result.by_content) == (PreviewStatus.ALREADY_MERGED, False)
    git(repo, "branch", "squashed", "main~1")
    commit_on(repo, "squashed", {"a.txt": "a\n"}, "the same change, another commit")
    result = preview(repo, "main", "squashed")
    assert (result.status, result.by_content) == (PreviewStatus.ALREADY_MERGED, True)
    assert "already has these changes" in result.summary


def test_patch_of_everything_or_one_path(repo: Path, tmp_path: Path) -> None:
    wt = busy_worktree(repo, tmp_path / "wt")
    source = snapshot_worktree(wt).commit
    whole = patch(repo, "main", source)
    assert "+a = 1" in whole and "+print('changed')" in whole and "Binary files" in whole
    one = patch(repo, "main", source, "src.py")
    assert "-print('hello')\n+print('changed')" in one
    assert "feature.py" not in one


def test_review_refuses_what_it_cannot_answer(repo: Path) -> None:
    with pytest.raises(NotABranch, match="is a commit, not a branch"):
        review(repo, "main~1", "main")
    with pytest.raises(ReviewError, match="'nope' is not a commit"):
        review(repo, "main", "nope")
    with pytest.raises(ReviewError, match="needs a worktree"):
        review(repo, "main")
    git(repo, "checkout", "-q", "--orphan", "island")
    git(repo, "commit", "-q", "-m", "unrelated")
    with pytest.raises(ReviewError, match="share no history"):
        review(repo, "main", "island")
