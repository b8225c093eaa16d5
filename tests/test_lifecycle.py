"""The user's story through the engine: spawn, watch, finish or fail, answer, fire, retry, remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import git

from jarvis_tui.engine.models import DONE, FAILED, FIRED, QUEUED, WAITING, WORKING
from jarvis_tui.engine.supervisor import SupervisorError, UnknownAgent, UsageError


def test_spawn_runs_to_done_in_its_own_worktree_and_branch(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Write the notes #steps=3", agent="demo", title="Write notes")
    assert agent.status == WORKING
    assert agent.branch == f"jarvis/write-notes-{agent.id}"
    assert Path(agent.worktree) == jarvis_env.state_dir / "worktrees" / agent.id
    assert agent.tmux_session in jarvis_env.tmux.sessions()

    done = jarvis_env.wait_status(sup, agent.id, DONE, FAILED)
    assert done.status == DONE and done.exit_code == 0
    assert done.ended_at is not None and done.last_output_at is not None
    # the agent's commits are on its branch, and the main checkout never moved
    log = git(jarvis_env.repo, "log", "--format=%s", f"main..{agent.branch}")
    assert "demo: final notes" in log
    assert git(jarvis_env.repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert not (jarvis_env.repo / "notes").exists()
    # the output was captured from the first byte
    text = sup.log_path(agent.id).read_text()
    assert text.splitlines()[0].startswith("\x1b[1mdemo-agent " + agent.id)
    assert "[jarvis] agent exited with code 0" in text


def test_failure_records_the_true_exit_code(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("break things #steps=1 #exit=3", agent="demo")
    failed = jarvis_env.wait_status(sup, agent.id, DONE, FAILED)
    assert failed.status == FAILED
    assert failed.exit_code == 3
    assert "code 3" in failed.status_reason
    exit_record = json.loads(sup.exit_path(agent.id).read_text())
    assert exit_record["exit_code"] == 3


def test_a_profile_whose_program_is_not_installed_is_refused_up_front(jarvis_env):
    jarvis_env.write_config(extra='[agents.ghost]\ncommand = ["no-such-agent-binary", "{prompt}"]\n')
    proc = jarvis_env.cli("spawn", "--agent", "ghost", "hello")
    assert proc.returncode == 2
    assert "profile ghost: 'no-such-agent-binary' is not installed (not on PATH)" in proc.stderr
    assert jarvis_env.sup().registry.agents(include_removed=True) == []  # nothing was created
    assert not any(jarvis_env.tmux.sessions())


def test_a_program_gone_by_the_time_it_starts_fails_with_127(jarvis_env, tmp_path):
    """Installed at spawn, removed while queued: the launcher records 127 and why."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "vanishing-agent"
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(0o755)
    jarvis_env.write_config(
        max_agents=1,
        extra=f'[agents.ghost]\ncommand = ["vanishing-agent", "{{prompt}}"]\n'
        f'env = {{ PATH = "{bin_dir}:/usr/bin:/bin" }}\n',
    )
    sup = jarvis_env.sup()
    first = sup.spawn("hold the only slot #hang", agent="demo")
    queued = sup.spawn("hello", agent="ghost")
    assert queued.status == QUEUED
    program.unlink()
    sup.fire(first.id, "dumb")
    sup.dispatch()
    failed = jarvis_env.wait_status(sup, queued.id, FAILED)
    assert failed.exit_code == 127
    assert "vanishing-agent" in failed.status_reason


def test_waiting_is_detected_and_send_answers(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Ask first #steps=1 #ask", agent="demo")
    waiting = jarvis_env.wait_status(sup, agent.id, WAITING)
    assert "[y/N]" in waiting.status_reason
    sup.send(agent.id, "y; $(touch /tmp/pwned) `id`")
    done = jarvis_env.wait_status(sup, agent.id, DONE, FAILED)
    assert done.status == DONE
    answer = git(jarvis_env.repo, "show", f"{agent.branch}:notes/answer.txt")
    assert answer == "y; $(touch /tmp/pwned) `id`"


def test_unknown_ids_and_bad_input_are_clear_errors(jarvis_env):
    sup = jarvis_env.sup()
    with pytest.raises(UnknownAgent, match="no agent with id 'abcdef'"):
        sup.get("abcdef")
    with pytest.raises(UnknownAgent):
        sup.get("not-hex")
    with pytest.raises(UsageError, match="unknown agent profile 'nope'"):
        sup.spawn("x", agent="nope")
    with pytest.raises(UsageError, match="empty"):
        sup.spawn("   \n", agent="demo")
    with pytest.raises(UsageError, match="priority"):
        sup.spawn("x", agent="demo", priority="urgent")
    with pytest.raises(UsageError, match="NUL"):
        sup.spawn("a\x00b", agent="demo")
    # nothing half-done: no task, no worktree, no session
    assert sup.agents(include_all=True) == []
    assert list((jarvis_env.state_dir / "worktrees").iterdir()) == []
    assert jarvis_env.tmux.sessions() == []


def test_fire_stops_the_tree_and_preserves_every_file(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Work forever #dirty #hang #daemon", agent="demo")
    worktree = Path(agent.worktree)
    jarvis_env.wait_for(sup, agent.id, lambda a: (worktree / "untracked_work.txt").exists(), what="uncommitted work")

    fired = sup.fire(agent.id, "derailed", note="went off to rewrite the build")
    assert fired.status == FIRED
    assert [(f.reason, f.note) for f in fired.fires] == [("derailed", "went off to rewrite the build")]
    ref = fired.fires[0].ref
    assert ref == f"refs/jarvis/fired/{agent.id}"
    # modified and untracked files are recoverable from the ref
    scratch = git(jarvis_env.repo, "show", f"{ref}:notes/scratch.md")
    assert scratch == "committed draft\nuncommitted edit"
    assert git(jarvis_env.repo, "show", f"{ref}:untracked_work.txt") == "work in progress"
    # the branch itself is untouched (the snapshot sits on top of its tip) and kept;
    # the worktree is gone; the main checkout's index is untouched
    assert git(jarvis_env.repo, "rev-parse", f"{ref}^") == git(jarvis_env.repo, "rev-parse", agent.branch)
    assert not worktree.exists()
    assert git(jarvis_env.repo, "status", "--porcelain") == ""
    assert agent.tmux_session not in jarvis_env.tmux.sessions()
    # (the leak check of the fixture proves the setsid daemon died too)
    with pytest.raises(SupervisorError, match="already fired"):
        sup.fire(agent.id, "dumb")
    with pytest.raises(UsageError, match="unknown fire reason"):
        sup.fire(agent.id, "lazy")


def test_retry_continues_from_the_fired_files_and_is_told_why(jarvis_env):
    sup = jarvis_env.sup()
    first = sup.spawn("Work #dirty #hang", agent="demo", title="Long job")
    jarvis_env.wait_for(
        sup, first.id, lambda a: (Path(a.worktree) / "untracked_work.txt").exists(), what="uncommitted work"
    )
    sup.fire(first.id, "obstinate", note="kept ignoring the spec")

    second = sup.retry(first.id)
    assert second.task_id == first.task_id and second.attempt == 2 and second.id != first.id
    assert second.retry_context.startswith(f"attempt 1 ({first.id}) was fired as obstinate: kept ignoring the spec")
    worktree = Path(second.worktree)
    # exactly the files the fired attempt left, committed or not
    assert (worktree / "untracked_work.txt").read_text() == "work in progress\n"
    assert (worktree / "notes" / "scratch.md").read_text().startswith("committed draft\nuncommitted edit\n")
    spec = json.loads((sup.session_dir(second.id) / "spec.json").read_text())
    assert spec["env"]["JARVIS_RETRY_CONTEXT"] == second.retry_context
    sup.fire(second.id, "dumb")

    third = sup.retry(second.id, fresh=True)
    assert third.attempt == 3
    assert not (Path(third.worktree) / "untracked_work.txt").exists()
    sup.fire(third.id, "dumb")
    ids = [a.id for a in sup.agents()]
    assert ids == [third.id]  # ls shows the latest attempt of each task
    assert {a.id for a in sup.agents(include_all=True)} == {first.id, second.id, third.id}


def test_rm_keeps_branch_and_uncommitted_work(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Finish dirty #steps=1 #dirty", agent="demo")
    jarvis_env.wait_status(sup, agent.id, DONE)
    running = sup.spawn("busy #hang", agent="demo")
    with pytest.raises(SupervisorError, match="fire it first"):
        sup.remove(running.id)
    sup.fire(running.id, "dumb")
    removed = sup.remove(agent.id)
    assert removed.removed and removed.preserved_ref == f"refs/jarvis/kept/{agent.id}"
    assert git(jarvis_env.repo, "show", f"{removed.preserved_ref}:untracked_work.txt") == "work in progress"
    assert git(jarvis_env.repo, "rev-parse", "--verify", agent.branch)
    assert not Path(agent.worktree).exists()
    assert agent.id not in [a.id for a in sup.agents()]


def test_silence_counts_as_waiting_until_a_heartbeat(jarvis_env):
    # Real time (no fake clock next to real tmux): two silent seconds are cheap, and leave the
    # heartbeat's reconcile below a margin of two seconds on a loaded machine.
    jarvis_env.write_config(
        extra='[agents.quiet]\ncommand = ["python", "-m", "jarvis_tui.demo_agent", "{prompt}"]\nwaiting_after = 2\n'
    )
    sup = jarvis_env.sup()
    agent = sup.spawn("Think quietly #silent #hang", agent="quiet")
    jarvis_env.wait_for(sup, agent.id, lambda a: a.last_output_at is not None, what="banner output")
    waiting = jarvis_env.wait_status(sup, agent.id, WAITING)
    assert waiting.status_reason.startswith("silent for")
    sup.heartbeat(agent.id, note="compiling")
    beat = sup.get(agent.id)
    assert beat.status == WORKING and beat.heartbeat_note == "compiling"
    sup.reconcile()
    assert sup.get(agent.id).status == WORKING  # the heartbeat is recent activity
    sup.fire(agent.id, "unresponsive")


def test_a_concurrent_reconcile_never_records_a_fired_agent_as_failed(jarvis_env):
    import threading

    sup = jarvis_env.sup()
    watcher = jarvis_env.sup()  # another process's view: its own registry connection
    agent = sup.spawn("Busy #hang", agent="demo")
    jarvis_env.wait_for(sup, agent.id, lambda a: a.last_output_at is not None, what="the agent running")
    stop = threading.Event()

    errors: list[Exception] = []

    def keep_reconciling() -> None:
        while not stop.is_set():
            try:
                watcher.reconcile()
            except Exception as exc:
                errors.append(exc)

    thread = threading.Thread(target=keep_reconciling)
    thread.start()
    try:
        fired = sup.fire(agent.id, "derailed")
    finally:
        stop.set()
        thread.join()
    watcher.reconcile()
    assert errors == []
    assert sup.get(agent.id).status == FIRED
    news = [e["data"]["new"] for e in sup.registry.events(attempt_id=agent.id) if e["kind"] in ("status", "fired")]
    assert FAILED not in news, news
    assert fired.exit_code == 143  # the launcher's record of the SIGTERM is kept
    with pytest.raises(SupervisorError, match="already fired"):
        watcher.fire(agent.id, "dumb")


def test_an_empty_answer_is_just_enter(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Ask #steps=1 #ask", agent="demo")
    jarvis_env.wait_status(sup, agent.id, WAITING)
    sup.send(agent.id, "")
    jarvis_env.wait_status(sup, agent.id, DONE)
    assert git(jarvis_env.repo, "show", f"{agent.branch}:notes/answer.txt") == ""
