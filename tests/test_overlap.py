"""Conflicts between agents while they work, on real git worktrees: which paths each touched,
which pairs share paths, and whether their states would really conflict."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import git, make_repo
from git_helpers import add_worktree, commit, commit_on, write

from jarvis_tui.engine import git as git_runner
from jarvis_tui.engine.git.overlap import Overlap, overlaps, touched_paths, would_conflict
from jarvis_tui.engine.git.review import snapshot_worktree


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    commit(repo, {".gitignore": "*.log\n", "lib/a.py": "a\n", "lib/b.py": "b\n", "old.txt": "old\n" * 10}, "layout")
    return repo


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every git process the engine starts (the one runner's probe), recorded."""
    calls: list[tuple[str, ...]] = []
    real = git_runner.probe

    def counting(cwd, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        return real(cwd, *args, **kwargs)

    monkeypatch.setattr(git_runner, "probe", counting)
    return calls


def test_touched_paths_of_a_worktree(repo: Path, tmp_path: Path, git_calls: list[tuple[str, ...]]) -> None:
    start = git(repo, "rev-parse", "main")
    wt = add_worktree(repo, tmp_path / "wt", "agent")
    commit(wt, {"lib/a.py": "a changed\n"}, "committed")
    write(
        wt,
        {"lib/b.py": "b staged\n", "README.md": "unstaged\n", "new/file.txt": "untracked\n", "debug.log": "ignored\n"},
    )
    git(wt, "add", "lib/b.py")
    git(wt, "mv", "old.txt", "renamed.txt")
    commit(repo, {"main_only.txt": "m\n", "src.py": "print('main')\n"}, "main moves on")  # not the agent's
    git_calls.clear()
    touched = touched_paths(repo, wt, "main")
    assert touched == {"lib/a.py", "lib/b.py", "README.md", "new/file.txt", "old.txt", "renamed.txt"}
    assert len(git_calls) == 2  # one diff against the merge base, one untracked listing
    assert touched_paths(repo, wt, start) == touched


def test_touched_paths_of_an_agent_without_worktree(repo: Path, git_calls: list[tuple[str, ...]]) -> None:
    git(repo, "branch", "agent", "main")
    commit_on(repo, "agent", {"lib/a.py": "x\n", "z.txt": "z\n"}, "agent work")
    commit(repo, {"main_only.txt": "m\n"}, "main moves on")
    git_calls.clear()
    assert touched_paths(repo, None, "main", "agent") == {"lib/a.py", "z.txt"}
    assert len(git_calls) == 1


def test_touched_paths_does_not_rewrite_the_agents_index(repo: Path, tmp_path: Path) -> None:
    wt = add_worktree(repo, tmp_path / "wt", "agent")
    for name in ("README.md", "src.py", "lib/a.py"):  # stale stat data: git diff would refresh the index
        os.utime(wt / name, (1_000_000_000, 1_000_000_000))
    index = Path(git(wt, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    before = index.read_bytes()
    assert touched_paths(repo, wt, "main") == set()
    assert index.read_bytes() == before


@pytest.mark.parametrize(
    ("touched", "expected"),
    [
        ({}, []),
        ({"a": {"x"}, "b": {"y"}}, []),
        ({"a": {"x", "y"}, "b": {"y", "z"}}, [Overlap("a", "b", ("y",))]),
        (
            {"c": {"p", "q"}, "a": {"q", "p", "r"}, "b": {"p"}},
            [Overlap("a", "b", ("p",)), Overlap("a", "c", ("p", "q")), Overlap("b", "c", ("p",))],
        ),
        ({"solo": {"x"}, "empty": set()}, []),
    ],
)
def test_overlaps_pairs_agents_with_shared_paths(touched: dict[str, set[str]], expected: list[Overlap]) -> None:
    assert overlaps(touched) == expected


def test_overlaps_accepts_any_iterables() -> None:
    assert overlaps({"b": ["f", "f"], "a": ("f",)}) == [Overlap("a", "b", ("f",))]


def test_would_conflict_between_two_agents_uncommitted_work(repo: Path, tmp_path: Path) -> None:
    one = add_worktree(repo, tmp_path / "one", "one")
    two = add_worktree(repo, tmp_path / "two", "two")
    three = add_worktree(repo, tmp_path / "three", "three")
    write(one, {"lib/a.py": "one's version\n", "shared.txt": "same\n"})
    write(two, {"lib/a.py": "two's version\n", "shared.txt": "same\n"})
    write(three, {"lib/b.py": "three's change\n"})
    snaps = {wt.name: snapshot_worktree(wt).commit for wt in (one, two, three)}
    touched = {name: touched_paths(repo, tmp_path / name, "main") for name in snaps}
    assert [(o.a, o.b, o.paths) for o in overlaps(touched)] == [("one", "two", ("lib/a.py", "shared.txt"))]
    assert would_conflict(repo, snaps["one"], snaps["two"]) == ["lib/a.py"]  # identical additions merge
    assert would_conflict(repo, snaps["one"], snaps["three"]) == []
    assert would_conflict(repo, "one", "two") == []  # nothing committed yet: branches alike
