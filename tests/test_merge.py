"""Merging an agent's work on real git repositories: every strategy, into a checked-out branch
and into one checked out nowhere; conflicts and refusals change nothing; a concurrent commit
is never lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, make_repo
from git_helpers import add_worktree, commit, commit_on, files_of, fingerprint, is_ancestor, parents, write

from jarvis_tui.engine.git import merge as merge_mod
from jarvis_tui.engine.git.merge import MergeConflict, MergeRefused, Outcome, Strategy, merge
from jarvis_tui.engine.git.review import snapshot_worktree


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def detach_main(repo: Path) -> None:
    """Leave main checked out nowhere (the main checkout moves to another branch)."""
    git(repo, "checkout", "-q", "-b", "elsewhere")


def agent_branch(repo: Path, name: str = "agent", commits: int = 1) -> str:
    git(repo, "branch", name, "main")
    tip = ""
    for i in range(commits):
        tip = commit_on(repo, name, {f"agent{i}.txt": f"agent change {i}\n"}, f"agent commit {i}")
    return tip


def tip(repo: Path, branch: str = "main") -> str:
    return git(repo, "rev-parse", f"refs/heads/{branch}")


def test_fast_forward_into_checked_out_main_updates_its_files(repo: Path) -> None:
    source = agent_branch(repo)
    before = tip(repo)
    result = merge(repo, "agent", into="main")
    assert result.outcome is Outcome.FAST_FORWARD
    assert result.new == source == tip(repo)
    assert result.previous == before
    assert result.where == repo
    assert result.files == ("agent0.txt",)
    assert (repo / "agent0.txt").read_text() == "agent change 0\n"
    assert git(repo, "status", "--porcelain") == ""  # the checkout ends clean at the new tip


def test_merge_commit_into_main_checked_out_nowhere(repo: Path) -> None:
    source = agent_branch(repo)
    other = commit_on(repo, "main", {"main.txt": "main moved\n"}, "main moves on")
    detach_main(repo)
    checkout_before = fingerprint(repo)[str(repo)]
    result = merge(repo, "agent", into="main")
    assert result.outcome is Outcome.MERGE_COMMIT
    assert result.where is None
    assert tip(repo) == result.new
    assert parents(repo, tip(repo)) == [other, source]
    assert git(repo, "log", "-1", "--format=%s", "main") == "Merge agent into main"
    assert set(git(repo, "ls-tree", "--name-only", "main").split()) >= {"agent0.txt", "main.txt"}
    assert fingerprint(repo)[str(repo)] == checkout_before  # the checkout on "elsewhere" untouched


def test_merge_commit_into_checked_out_main(repo: Path) -> None:
    source = agent_branch(repo)
    other = commit(repo, {"main.txt": "main moved\n"}, "main moves on")
    result = merge(repo, "agent", into="main", message="Land the agent's work\n")
    assert result.outcome is Outcome.MERGE_COMMIT and result.where == repo
    assert parents(repo, "HEAD") == [other, source]
    assert git(repo, "log", "-1", "--format=%B", "HEAD") == "Land the agent's work"
    assert (repo / "agent0.txt").exists() and (repo / "main.txt").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_no_ff_makes_a_merge_commit_even_when_fast_forward_is_possible(repo: Path) -> None:
    source = agent_branch(repo)
    before = tip(repo)
    result = merge(repo, "agent", into="main", strategy="no-ff")
    assert result.outcome is Outcome.MERGE_COMMIT
    assert parents(repo, tip(repo)) == [before, source]
    assert result.commits == (tip(repo),)


def test_squash_makes_one_single_parent_commit(repo: Path) -> None:
    agent_branch(repo, commits=3)
    commit(repo, {"main.txt": "main moved\n"}, "main moves on")
    before = tip(repo)
    result = merge(repo, "agent", into="main", strategy=Strategy.SQUASH)
    assert result.outcome is Outcome.SQUASH
    assert parents(repo, tip(repo)) == [before]
    assert git(repo, "rev-list", "--count", f"{before}..main") == "1"
    assert result.files == ("agent0.txt", "agent1.txt", "agent2.txt")
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert message.splitlines()[0] == "Squash agent into main"
    assert "* agent commit 0" in message and "* agent commit 2" in message
    assert not is_ancestor(repo, tip(repo, "agent"), "main")


def test_rebase_replays_each_commit_in_order_like_git_rebase(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "agent", "main")
    for i in range(3):
        commit_on(
            repo,
            "agent",
            {"shared.txt": "".join(f"line {j}\n" for j in range(i + 1)), f"a{i}.txt": f"{i}\n"},
            f"agent step {i}",
        )
    main_tip = commit(repo, {"main.txt": "main moved\n"}, "main moves on")
    originals = git(repo, "log", "--reverse", "--format=%H %an %at %s", "main..agent").splitlines()
    result = merge(repo, "agent", into="main", strategy="rebase")
    assert result.outcome is Outcome.REBASE and len(result.commits) == 3
    replayed = git(repo, "log", "--reverse", "--format=%H %an %at %s", f"{main_tip}..main").splitlines()
    assert [r.split(" ", 1)[1] for r in replayed] == [o.split(" ", 1)[1] for o in originals]  # author, time, subject
    assert git(repo, "rev-list", "--first-parent", "--count", f"{main_tip}..main") == "3"  # linear, on the tip
    assert [r.split()[0] for r in replayed] == list(result.commits)
    # The same tree git's own rebase produces, step by step.
    check = add_worktree(repo, tmp_path / "check", "check", "agent")
    git(check, "rebase", "-q", main_tip)
    for ours, theirs in zip(
        result.commits, git(repo, "rev-list", "--reverse", f"{main_tip}..check").split(), strict=False
    ):
        assert git(repo, "rev-parse", f"{ours}^{{tree}}") == git(repo, "rev-parse", f"{theirs}^{{tree}}")
    assert git(repo, "status", "--porcelain") == ""


def test_rebase_drops_a_commit_whose_change_main_already_has(repo: Path) -> None:
    git(repo, "branch", "agent", "main")
    commit_on(repo, "agent", {"x.txt": "same\n"}, "add x")
    keep = commit_on(repo, "agent", {"y.txt": "y\n"}, "add y")
    commit(repo, {"x.txt": "same\n", "z.txt": "z\n"}, "main adds x too, and z")
    result = merge(repo, "agent", into="main", strategy="rebase")
    assert git(repo, "log", "--format=%s", "-1", "main") == "add y"
    assert git(repo, "rev-list", "--count", "HEAD~1..HEAD") == "1"
    assert len(result.commits) == 1
    assert keep not in result.commits  # rewritten, not reused


def test_rebase_matches_git_rebase_where_one_merge_of_the_tip_would_not(repo: Path, tmp_path: Path) -> None:
    """Commit 1 makes the change main also made (dropped as empty), commit 2 reverts it: git
    rebase ends with the revert; merging only the branch tip into main would keep main's line."""
    commit(repo, {"flag.txt": "off\n"}, "flag")
    git(repo, "branch", "agent", "main")
    commit_on(repo, "agent", {"flag.txt": "on\n"}, "turn on")
    commit_on(repo, "agent", {"flag.txt": "off\n", "other.txt": "x\n"}, "turn off again")
    main_tip = commit(repo, {"flag.txt": "on\n"}, "main turns it on")
    check = add_worktree(repo, tmp_path / "check", "check", "agent")
    git(check, "rebase", "-q", main_tip)
    result = merge(repo, "agent", into="main", strategy="rebase")
    assert git(repo, "rev-parse", "main^{tree}") == git(repo, "rev-parse", "check^{tree}")
    assert (repo / "flag.txt").read_text() == "off\n"
    assert len(result.commits) == 1 and len(result.skipped) == 1


def test_rebase_of_a_branch_that_merged_main_replays_only_the_agents_commits(repo: Path, tmp_path: Path) -> None:
    wt = add_worktree(repo, tmp_path / "wt", "agent")
    commit(wt, {"a1.txt": "1\n"}, "agent one")
    commit(repo, {"m1.txt": "1\n"}, "main one")
    git(wt, "merge", "-q", "--no-edit", "main")  # the agent caught up with main mid-way
    commit(wt, {"a2.txt": "2\n"}, "agent two")
    main_tip = commit(repo, {"m2.txt": "2\n"}, "main two")
    result = merge(repo, "agent", into="main", strategy="rebase")
    assert git(repo, "log", "--reverse", "--format=%s", f"{main_tip}..main").splitlines() == ["agent one", "agent two"]
    assert len(parents(repo, "main")) == 1 and len(result.commits) == 2
    assert {"a1.txt", "a2.txt", "m1.txt", "m2.txt"} <= set(git(repo, "ls-tree", "--name-only", "main").split())


def test_checks_do_not_rewrite_the_main_checkouts_index(repo: Path) -> None:
    import os

    agent_branch(repo)
    write(repo, {"agent0.txt": "untracked, in the way\n"})
    for name in ("README.md", "src.py"):  # stat data now stale: a plain git status would rewrite the index
        os.utime(repo / name, (1_000_000_000, 1_000_000_000))
    before = fingerprint(repo)
    with pytest.raises(MergeRefused, match="would be overwritten"):
        merge(repo, "agent", into="main")
    assert fingerprint(repo) == before


def test_rebase_conflict_names_the_commit_and_changes_nothing(repo: Path) -> None:
    git(repo, "branch", "agent", "main")
    commit_on(repo, "agent", {"fine.txt": "fine\n"}, "a clean step")
    bad = commit_on(repo, "agent", {"src.py": "print('agent')\n"}, "touch src")
    commit(repo, {"src.py": "print('main')\n"}, "main touches src")
    before = fingerprint(repo)
    with pytest.raises(MergeConflict) as caught:
        merge(repo, "agent", into="main", strategy="rebase")
    assert caught.value.paths == ("src.py",)
    assert caught.value.commit == bad
    assert caught.value.retry_context == f"rebase onto main: commit {bad[:12]} (touch src) conflicts in src.py"
    assert fingerprint(repo) == before


def test_conflict_is_refused_with_the_paths_and_nothing_changes(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "agent", "main")
    commit_on(
        repo, "agent", {"src.py": "print('agent')\n", "README.md": "agent readme\n", "new.txt": "n\n"}, "agent edits"
    )
    commit(repo, {"src.py": "print('main')\n", "README.md": "main readme\n"}, "main edits")
    other = add_worktree(repo, tmp_path / "other", "other")
    write(repo, {"scratch.txt": "untracked, not in the way\n"})
    before = fingerprint(repo, other)
    for strategy in Strategy:
        with pytest.raises(MergeConflict) as caught:
            merge(repo, "agent", into="main", strategy=strategy)
        assert caught.value.paths == ("README.md", "src.py")
        assert "conflicts in README.md, src.py" in str(caught.value)
        assert fingerprint(repo, other) == before


def test_dirty_main_checkout_is_refused_and_keeps_its_changes(repo: Path) -> None:
    agent_branch(repo)
    write(repo, {"src.py": "print('work in progress')\n"})
    before = fingerprint(repo)
    with pytest.raises(MergeRefused, match=r"uncommitted changes.*src\.py"):
        merge(repo, "agent", into="main")
    assert fingerprint(repo) == before
    git(repo, "add", "src.py")  # staged changes refuse too
    before = fingerprint(repo)
    with pytest.raises(MergeRefused, match="uncommitted changes"):
        merge(repo, "agent", into="main", dry_run=True)
    assert fingerprint(repo) == before


def test_untracked_or_ignored_file_in_the_way_is_refused_other_untracked_files_stay(repo: Path) -> None:
    agent_branch(repo)  # adds agent0.txt
    commit_on(repo, "agent", {".env": "AGENT=1\n"}, "agent adds an env file")
    commit(repo, {".gitignore": ".env\n"}, "ignore .env")
    write(repo, {"agent0.txt": "mine, untracked\n"})
    before = fingerprint(repo)
    with pytest.raises(MergeRefused, match=r"would be overwritten.*agent0\.txt"):
        merge(repo, "agent", into="main")
    assert fingerprint(repo) == before
    (repo / "agent0.txt").unlink()
    write(repo, {".env": "SECRET=1\n"})  # ignored, and git merge would overwrite it silently
    with pytest.raises(MergeRefused, match=r"would be overwritten.*\.env"):
        merge(repo, "agent", into="main")
    (repo / ".env").unlink()
    write(repo, {"notes.txt": "untracked elsewhere\n"})
    result = merge(repo, "agent", into="main")
    assert result.outcome is Outcome.MERGE_COMMIT
    assert (repo / "notes.txt").read_text() == "untracked elsewhere\n"


@pytest.mark.parametrize("checked_out", [True, False])
def test_base_moved_between_preview_and_merge_keeps_the_concurrent_commit(repo: Path, checked_out: bool) -> None:
    from jarvis_tui.engine.git.review import PreviewStatus, preview

    agent_branch(repo)
    if not checked_out:
        detach_main(repo)
    assert preview(repo, "main", "agent").status is PreviewStatus.CLEAN
    concurrent = commit_on(repo, "main", {"late.txt": "late\n"}, "a concurrent commit")
    if checked_out:
        git(repo, "reset", "-q", "--hard", "main")  # the user committed in the main checkout
    result = merge(repo, "agent", into="main")
    assert result.previous == concurrent
    assert is_ancestor(repo, concurrent, "main")
    assert result.outcome is Outcome.MERGE_COMMIT


@pytest.mark.parametrize("checked_out", [True, False])
def test_commit_landing_during_the_merge_is_kept_by_a_retry(
    repo: Path, monkeypatch: pytest.MonkeyPatch, checked_out: bool
) -> None:
    agent_branch(repo)
    if not checked_out:
        detach_main(repo)
    landed: list[str] = []
    real_commit = merge_mod._commit

    def racing_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = real_commit(*args, **kwargs)
        if not landed:  # another process commits to main after we computed, before we move it
            if checked_out:
                landed.append(commit(repo, {"late.txt": "late\n"}, "a concurrent commit"))
            else:
                landed.append(commit_on(repo, "main", {"late.txt": "late\n"}, "a concurrent commit"))
        return made

    monkeypatch.setattr(merge_mod, "_commit", racing_commit)
    result = merge(repo, "agent", into="main")
    assert result.attempts == 2
    assert result.previous == landed[0]
    assert is_ancestor(repo, landed[0], "main") and is_ancestor(repo, "agent", "main")
    if checked_out:
        assert git(repo, "status", "--porcelain") == "" and (repo / "late.txt").exists()


def test_a_branch_that_keeps_moving_is_refused_and_loses_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    agent_branch(repo)
    detach_main(repo)
    landed: list[str] = []
    real_commit = merge_mod._commit

    def racing_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = real_commit(*args, **kwargs)
        landed.append(commit_on(repo, "main", {f"late{len(landed)}.txt": "late\n"}, "concurrent"))
        return made

    monkeypatch.setattr(merge_mod, "_commit", racing_commit)
    with pytest.raises(MergeRefused, match="kept moving"):
        merge(repo, "agent", into="main", attempts=2)
    assert tip(repo) == landed[-1] and len(landed) == 2
    assert not is_ancestor(repo, "agent", "main")


def test_already_merged_does_nothing(repo: Path) -> None:
    agent_branch(repo)
    merge(repo, "agent", into="main")
    before = fingerprint(repo)
    for strategy in Strategy:
        result = merge(repo, "agent", into="main", strategy=strategy)
        assert result.outcome is Outcome.ALREADY_MERGED
        assert result.new == result.previous == tip(repo) and result.files == ()
    assert fingerprint(repo) == before


def test_squash_merged_work_is_already_merged_the_second_time(repo: Path) -> None:
    agent_branch(repo, commits=2)
    commit(repo, {"main.txt": "m\n"}, "main moves")
    merge(repo, "agent", into="main", strategy="squash")
    before = tip(repo)
    result = merge(repo, "agent", into="main")  # not an ancestor, but main has every change
    assert result.outcome is Outcome.ALREADY_MERGED and tip(repo) == before


@pytest.mark.parametrize("target", ["main~1", "HEAD~1", "sha"])
def test_a_base_that_is_a_commit_is_refused(repo: Path, target: str) -> None:
    commit(repo, {"second.txt": "2\n"}, "second")
    agent_branch(repo)
    if target == "sha":
        target = git(repo, "rev-parse", "main~1")
    before = fingerprint(repo)
    with pytest.raises(MergeRefused, match="is a commit, not a branch"):
        merge(repo, "agent", into=target)
    assert fingerprint(repo) == before


def test_detached_head_and_unknown_branch_are_refused(repo: Path) -> None:
    agent_branch(repo)
    with pytest.raises(MergeRefused, match="no branch named 'nope'"):
        merge(repo, "agent", into="nope")
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(MergeRefused, match="HEAD is detached"):
        merge(repo, "agent", into="HEAD")
    with pytest.raises(MergeRefused, match="unknown strategy 'octopus'"):
        merge(repo, "agent", into="main", strategy="octopus")


def test_merge_of_a_snapshot_brings_uncommitted_and_untracked_files(repo: Path, tmp_path: Path) -> None:
    wt = add_worktree(repo, tmp_path / "wt", "agent")
    commit(wt, {"committed.txt": "committed\n"}, "agent commits")
    write(wt, {"src.py": "print('modified, not committed')\n", "untracked/new.txt": "untracked\n"})
    (wt / "README.md").unlink()
    agent_before = fingerprint(repo, wt)[str(wt)]
    snap = snapshot_worktree(wt)
    assert snap.uncommitted and parents(repo, snap.commit) == [snap.head]
    result = merge(repo, snap.commit, into="main")
    assert result.outcome is Outcome.FAST_FORWARD
    assert (repo / "committed.txt").exists() and (repo / "untracked/new.txt").read_text() == "untracked\n"
    assert (repo / "src.py").read_text() == "print('modified, not committed')\n"
    assert not (repo / "README.md").exists()
    assert fingerprint(repo, wt)[str(wt)] == agent_before  # the agent's worktree is untouched


def test_dry_run_reports_and_changes_nothing(repo: Path) -> None:
    agent_branch(repo, commits=2)
    commit(repo, {"main.txt": "m\n"}, "main moves")
    before = fingerprint(repo)
    objects = git(repo, "count-objects")
    for strategy, outcome in [("merge", Outcome.MERGE_COMMIT), ("squash", Outcome.SQUASH), ("rebase", Outcome.REBASE)]:
        result = merge(repo, "agent", into="main", strategy=strategy, dry_run=True)
        assert (result.outcome, result.dry_run, result.new) == (outcome, True, None)
        assert result.files == ("agent0.txt", "agent1.txt")
    assert fingerprint(repo) == before
    assert objects  # (objects written by merge-tree are unreferenced; refs and files are what count)


def test_commits_use_the_repo_identity_else_jarvis(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    agent_branch(repo)
    commit(repo, {"main.txt": "m\n"}, "main moves")
    git(repo, "config", "user.name", "Repo Owner")
    git(repo, "config", "user.email", "owner@example.invalid")
    merge(repo, "agent", into="main", strategy="no-ff")
    assert (
        git(repo, "log", "-1", "--format=%an <%ae> / %cn", "main") == "Repo Owner <owner@example.invalid> / Repo Owner"
    )
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key, raising=False)
    commit_on(repo, "agent", {"more.txt": "more\n"}, "more")
    merge(repo, "agent", into="main", strategy="no-ff")
    assert (
        git(repo, "log", "-1", "--format=%an <%ae> / %cn", "main") == "jarvis-tui <jarvis-tui@localhost> / jarvis-tui"
    )


def test_a_branch_being_rebased_is_refused(repo: Path, tmp_path: Path) -> None:
    agent_branch(repo)
    git(repo, "branch", "side", "main")
    commit_on(repo, "side", {"src.py": "print('side')\n"}, "side edits src")
    commit(repo, {"src.py": "print('main')\n"}, "main edits src")
    proc = git_rebase(repo, "side")
    assert proc.returncode != 0  # stopped on the conflict: main is being rebased
    before = fingerprint(repo)
    with pytest.raises(MergeRefused, match="main is being rebased"):
        merge(repo, "agent", into="main")
    assert fingerprint(repo) == before
    git(repo, "rebase", "--abort")
    assert merge(repo, "agent", into="main").outcome is Outcome.MERGE_COMMIT


def git_rebase(repo: Path, onto: str):  # type: ignore[no-untyped-def]
    import subprocess

    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "rebase", onto],
        capture_output=True,
        text=True,
        check=False,
    )


def test_files_of_an_untouched_checkout_do_not_change_on_a_ref_only_merge(repo: Path, tmp_path: Path) -> None:
    agent_branch(repo)
    detach_main(repo)
    other = add_worktree(repo, tmp_path / "other", "other")
    before = files_of(repo), files_of(other)
    result = merge(repo, "agent", into="main")
    assert result.outcome is Outcome.FAST_FORWARD and result.where is None
    assert (files_of(repo), files_of(other)) == before
