"""Review, check and merge of real agents' work; overlaps and file scopes (issue 10)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from conftest import git

from jarvis_tui.engine.errors import SupervisorError
from jarvis_tui.engine.loop import EngineLoop
from jarvis_tui.engine.merging import MergeConflict
from jarvis_tui.engine.models import DONE, FAILED, MERGED, QUEUED, WAITING, WORKING


def state_of(repo: Path) -> tuple[str, str, str]:
    """Refs, index and files of the main checkout: what "nothing changed" compares."""
    refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    index = (repo / ".git" / "index").read_bytes().hex()
    files = "\n".join(
        f"{p.relative_to(repo)}:{p.read_bytes()!r}"
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    )
    return refs, index, files


def test_review_then_merge_a_done_agent_into_the_checked_out_base(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Write notes #steps=3", agent="demo", title="Notes")
    done = jarvis_env.wait_status(sup, agent.id, DONE)
    _, found = sup.review(done.id)
    assert found.into == "main" and found.preview.status == "clean" and not found.uncommitted
    assert next(c.subject for c in found.commits) == "demo: final notes"
    paths = {f.path: f for f in found.files}
    assert paths["notes/progress.md"].status == "added" and paths["notes/progress.md"].added == 3
    merged = sup.merge(done.id)
    assert merged.agent.status == MERGED and merged.agent.merged_into == "main"
    assert merged.agent.merge_commit == git(jarvis_env.repo, "rev-parse", "main")
    assert (jarvis_env.repo / "notes" / "progress.md").exists()  # the checkout moved with its branch
    assert git(jarvis_env.repo, "status", "--porcelain") == ""
    assert merged.agent.worktree is None and git(jarvis_env.repo, "rev-parse", "--verify", done.branch)
    assert any(e["kind"] == "merged" for e in sup.registry.events(attempt_id=done.id))
    stats = json.loads(jarvis_env.cli("stats", "--json", check=True).stdout)
    assert next(r for r in stats if r["profile"] == "demo")["merged"] == 1
    again = jarvis_env.cli("merge", done.id)
    assert again.returncode == 1 and "already merged" in again.stderr


def test_review_diff_takes_its_path_after_the_flag_or_the_id(jarvis_env):
    sup = jarvis_env.sup()
    done = jarvis_env.wait_status(sup, sup.spawn("Write notes #steps=2", agent="demo").id, DONE)
    whole = jarvis_env.cli("review", done.id, "--diff", check=True).stdout
    files = {line.split(" b/")[-1] for line in whole.splitlines() if line.startswith("diff --git ")}
    assert "notes/progress.md" in files and len(files) > 1, files
    for argv in (
        (done.id, "--diff", "notes/progress.md"),  # as --help shows it
        (done.id, "notes/progress.md", "--diff"),
        ("--diff", "notes/progress.md", done.id),
    ):
        one = jarvis_env.cli("review", *argv, check=True).stdout
        assert [line for line in one.splitlines() if line.startswith("diff --git ")] == [
            "diff --git a/notes/progress.md b/notes/progress.md"
        ], argv
    assert jarvis_env.cli("review", "--diff", done.id, check=True).stdout == whole
    missing = jarvis_env.cli("review", "--diff")
    assert missing.returncode == 2 and "which agent?" in missing.stderr


def test_merging_a_working_agent_is_refused(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("busy #hang", agent="demo")
    jarvis_env.wait_status(sup, agent.id, WORKING)
    with pytest.raises(SupervisorError, match="only an ended agent can be merged"):
        sup.merge(agent.id)


def test_a_conflicting_merge_changes_nothing_and_the_retry_is_told(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Write notes #steps=1", agent="demo")
    done = jarvis_env.wait_status(sup, agent.id, DONE)
    (jarvis_env.repo / "notes").mkdir()
    (jarvis_env.repo / "notes" / "progress.md").write_text("main's own notes\n")
    git(jarvis_env.repo, "add", ".")
    git(jarvis_env.repo, "commit", "-q", "-m", "main writes notes too")
    _, found = sup.review(done.id)
    assert found.preview.status == "conflicts" and "notes/progress.md" in found.preview.conflicts
    before = state_of(jarvis_env.repo)
    with pytest.raises(MergeConflict) as info:
        sup.merge(done.id)
    assert "notes/progress.md" in info.value.paths
    assert state_of(jarvis_env.repo) == before
    assert sup.registry.get(done.id).status == DONE
    retried = sup.retry(done.id)
    assert "its merge was refused: merge into main: conflicts in notes/progress.md" in retried.retry_context
    jarvis_env.wait_status(sup, retried.id, DONE, FAILED)


def test_uncommitted_work_is_merged_only_when_asked(jarvis_env):
    sup = jarvis_env.sup()
    first = jarvis_env.wait_status(sup, sup.spawn("work #steps=1 #dirty", agent="demo").id, DONE)
    left = sup.merge(first.id)
    assert left.left_out and "left out" in left.notes[0]
    assert not (jarvis_env.repo / "untracked_work.txt").exists()
    assert left.agent.preserved_ref == f"refs/jarvis/kept/{first.id}"  # not lost either
    second = jarvis_env.wait_status(sup, sup.spawn("more #steps=1 #dirty", agent="demo").id, DONE)
    taken = sup.merge(second.id, include_uncommitted=True, strategy="squash", message="squashed work")
    assert not taken.left_out and str(taken.result.outcome) == "squash"
    assert (jarvis_env.repo / "untracked_work.txt").read_text() == "work in progress\n"
    assert git(jarvis_env.repo, "log", "-1", "--format=%s", "main") == "squashed work"


def test_merge_into_a_branch_not_checked_out_and_prune(jarvis_env):
    git(jarvis_env.repo, "branch", "release")
    sup = jarvis_env.sup()
    done = jarvis_env.wait_status(sup, sup.spawn("notes #steps=1", agent="demo").id, DONE)
    main_before = git(jarvis_env.repo, "rev-parse", "main")
    merged = sup.merge(done.id, into="release", strategy="no-ff")
    assert merged.result.where is None and git(jarvis_env.repo, "rev-parse", "main") == main_before
    assert git(jarvis_env.repo, "rev-parse", "release^2") == git(jarvis_env.repo, "rev-parse", done.branch)
    unmerged = jarvis_env.wait_status(sup, sup.spawn("other #steps=1", agent="demo").id, DONE)
    sup.remove(unmerged.id)
    dry = sup.prune(dry_run=True)
    assert dry and not any(r["deleted"] for r in dry)  # a dry run deletes nothing
    pruned = {r["ref"]: r for r in sup.prune()}
    # the merged agent's branch is contained in release; the removed, unmerged one's is not
    assert pruned[f"refs/heads/{done.branch}"]["deleted"]
    assert not pruned[f"refs/heads/{unmerged.branch}"]["deleted"]
    assert git(jarvis_env.repo, "rev-parse", "--verify", unmerged.branch)
    restore = pruned[f"refs/heads/{done.branch}"]["restore"]
    assert restore.startswith(f"git branch {done.branch} ")


def test_a_check_runs_on_a_copy_and_records_its_result(jarvis_env):
    check = [
        sys.executable,
        "-c",
        "import os, sys; open('written_by_check', 'w').write('x'); "
        "print('checking', os.path.exists('untracked_work.txt')); sys.exit(0 if os.path.exists('untracked_work.txt') else 3)",
    ]
    jarvis_env.write_config(extra=f"[review]\ncheck = {json.dumps(check)}\n")
    sup = jarvis_env.sup()
    agent = sup.spawn("work #steps=1 #dirty", agent="demo")
    done = jarvis_env.wait_status(sup, agent.id, DONE)
    before = sorted(p.name for p in Path(done.worktree).iterdir())
    result = jarvis_env.cli("check", done.id, "--json")
    assert result.returncode == 0, result.stderr
    checked = sup.registry.get(done.id)
    assert checked.check == "passed"
    log = (jarvis_env.state_dir / "sessions" / done.id / "check.log").read_text()
    assert "checking True" in log  # it saw the uncommitted file...
    assert sorted(p.name for p in Path(done.worktree).iterdir()) == before  # ...and changed nothing
    assert not (jarvis_env.state_dir / "worktrees" / f"{done.id}.check").exists()
    assert "jarvis-check-" + done.id not in jarvis_env.tmux.sessions()
    fresh = sup.spawn("nothing yet #hang", agent="demo")
    jarvis_env.wait_status(sup, fresh.id, WORKING)
    failing = jarvis_env.cli("check", fresh.id)  # it left no untracked_work.txt
    assert failing.returncode == 1 and "failed (exit 3)" in failing.stdout + failing.stderr
    assert sup.registry.get(fresh.id).check == "failed (exit 3)"
    assert json.loads(jarvis_env.cli("ls", "--json").stdout)[1]["check"] == "failed (exit 3)"


def test_a_check_that_outlives_its_timeout_is_not_a_pass_and_a_second_check_joins_it(jarvis_env, tmp_path):
    gate = tmp_path / "gate"
    check = [sys.executable, "-c", f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.05)"]
    jarvis_env.write_config(extra=f"[review]\ncheck = {json.dumps(check)}\n")
    sup = jarvis_env.sup()
    done = jarvis_env.wait_status(sup, sup.spawn("work #steps=1", agent="demo").id, DONE)
    timed_out = jarvis_env.cli("check", done.id, "--timeout", "0.5", "--json")
    assert timed_out.returncode == 124, timed_out.stderr  # `check --timeout N && merge` merges nothing
    assert json.loads(timed_out.stdout)["check"] == "running" and "the check goes on" in timed_out.stderr
    again = jarvis_env.cli("check", done.id, "--no-wait")
    assert again.returncode == 1 and "already being checked" in again.stderr
    joined = jarvis_env.cli_bg("check", done.id)
    poll = time.monotonic() + 10
    while "jarvis-check-" + done.id not in jarvis_env.tmux.sessions() and time.monotonic() < poll:
        time.sleep(0.05)
    time.sleep(0.5)  # it is waiting on the running check
    assert joined.poll() is None
    gate.write_text("go")
    out, err = joined.communicate(timeout=30)
    assert joined.returncode == 0, err
    assert "already running: waiting for its result" in err and "passed" in out
    assert sup.registry.get(done.id).check == "passed"


def test_two_agents_editing_the_same_file_are_reported_as_overlapping(jarvis_env):
    jarvis_env.write_config(extra="[review]\nscan_interval = 0.1\n")
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    a = sup.spawn("edits notes #hang", agent="demo")
    b = sup.spawn("edits notes too #hang", agent="demo")

    def overlapping():
        loop.tick()
        return sup.registry.get(a.id).overlaps == [b.id]

    jarvis_env.wait_for(sup, a.id, lambda _: overlapping(), what="the overlap scan")
    assert sup.registry.get(b.id).overlaps == [a.id]
    pairs = json.loads(jarvis_env.cli("conflicts", "--json", check=True).stdout)
    pair = next(p for p in pairs if sorted(p["agents"]) == sorted([a.id, b.id]))
    assert "notes/progress.md" in pair["paths"] and pair["conflict"] is True
    assert any(e["kind"] == "overlap" for e in sup.registry.events(attempt_id=a.id))
    sup.fire(b.id, "dumb")  # once ended, its record's last scan is history: no live overlap
    fired = json.loads(jarvis_env.cli("show", b.id, "--json", check=True).stdout)
    assert sup.registry.get(b.id).overlaps == [a.id] and fired["overlaps"] == []
    loop.close()


def test_a_short_lived_agent_outside_its_scope_is_flagged_at_review(jarvis_env):
    """No scan ever saw it run: the review finds the paths from everything it changed."""
    jarvis_env.write_config(extra="[review]\nscan_interval = 0\n")
    sup = jarvis_env.sup()
    done = jarvis_env.wait_status(sup, sup.spawn("quick #steps=1", agent="demo", scope=["docs/**"]).id, DONE)
    assert done.out_of_scope == []
    reviewed = json.loads(jarvis_env.cli("review", done.id, "--json", check=True).stdout)
    assert "notes/progress.md" in reviewed["out_of_scope"]
    assert "notes/progress.md" in sup.registry.get(done.id).out_of_scope  # recorded: show and ls say it too
    assert any(e["kind"] == "out_of_scope" for e in sup.registry.events(attempt_id=done.id))
    text = jarvis_env.cli("review", done.id, check=True).stdout
    assert "outside its scope:" in text and "notes/progress.md" in text


def test_a_rescan_diffs_an_agents_commits_only_when_its_head_moved(jarvis_env, monkeypatch):
    """The overlap scan of an agent that printed: one git status; the diff of its commits again
    only when a stamp of HEAD's files moved (a 20-agent fleet printing: half the processes)."""
    from git_helpers import commit

    from jarvis_tui.engine import git as git_runner
    from jarvis_tui.engine.conflicts import Scanner

    sup = jarvis_env.sup()
    agent = sup.spawn("scanned #hang #speed=0.01", agent="demo")  # no commit of its own meanwhile
    jarvis_env.wait_status(sup, agent.id, WORKING, WAITING)
    worktree = Path(sup.registry.get(agent.id).worktree or "")
    calls: list[str] = []
    real = git_runner.probe
    monkeypatch.setattr(git_runner, "probe", lambda cwd, *a, **k: calls.append(a[0]) or real(cwd, *a, **k))
    scanner = Scanner()

    def rescan() -> set[str]:
        """The test's own paths among what the scan found (the demo agent writes files too)."""
        calls.clear()
        scanner.seen_output[agent.id] = -1.0  # as if it printed since the last scan
        scanner.scan(sup)
        return scanner.paths[agent.id] & {"draft.txt", "done.txt"}

    assert rescan() == set() and sorted(calls) == ["diff", "status"]
    (worktree / "draft.txt").write_text("not committed\n")
    assert rescan() == {"draft.txt"} and calls == ["status"]  # HEAD unchanged: its commits are known
    commit(worktree, {"done.txt": "committed\n"}, "agent work")
    assert rescan() == {"draft.txt", "done.txt"} and sorted(calls) == ["diff", "status"]
    assert rescan() == {"draft.txt", "done.txt"} and calls == ["status"]


def test_file_scopes_queue_overlapping_agents_and_flag_writes_outside(jarvis_env):
    jarvis_env.write_config(extra="[review]\nscan_interval = 0.1\n")
    sup = jarvis_env.sup()
    loop = EngineLoop(sup)
    holder = sup.spawn("notes owner #hang", agent="demo", scope=["notes/**"])
    waiter = sup.spawn("wants notes #steps=1", agent="demo", scope=["notes/*.md"])
    assert waiter.status == QUEUED and waiter.queue.kind == "scope"
    assert waiter.queue_reason == f"scope notes/** held by {holder.id}"
    outsider = sup.spawn("scoped to src #hang", agent="demo", scope=["src/**"])
    assert outsider.status == WORKING
    jarvis_env.wait_for(
        sup,
        outsider.id,
        lambda _: (loop.tick() and False) or "notes/progress.md" in sup.registry.get(outsider.id).out_of_scope,
        what="the out-of-scope flag",
    )
    assert any(e["kind"] == "out_of_scope" for e in sup.registry.events(attempt_id=outsider.id))
    assert sup.registry.get(outsider.id).status == WORKING  # flagged, not killed
    sup.fire(holder.id, "dumb")
    loop.tick()
    assert sup.registry.get(waiter.id).status != QUEUED
    jarvis_env.wait_status(sup, waiter.id, DONE)
    sup.fire(outsider.id, "dumb")
    loop.close()
    with pytest.raises(SupervisorError, match="--scope"):
        sup.spawn("bad", agent="demo", scope=["a//b"])
