"""Checks (``jarvis check``): the project's own tests run on an agent's work.

A check never changes the agent's files: it runs in a throwaway, detached worktree
(``worktrees/<id>.check``) made from a snapshot of the agent's files as they are now
(committed and uncommitted, read through a copy of its index). Checks write files (caches,
build output, formatters) and an agent still working would race with them; a copy also
means the result is about exactly the state that was reviewed.

The check runs in its own tmux session ``jarvis-check-<id>`` on the private socket, through
the same launcher as agents (argv, no shell; exit code recorded in ``check-exit.json``), its
output in ``sessions/<id>/check.log``. Any reconcile records the result (``passed`` /
``failed (exit N)``) and removes the copy.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import git
from .errors import SupervisorError, UsageError
from .lifecycle import Action, require
from .models import Agent
from .paths import PACKAGE_ROOT
from .schema import ATTEMPT_FIELDS
from .tmux import TmuxError

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.checks")
PREFIX = "jarvis-check-"


def session(agent_id: str) -> str:
    return f"{PREFIX}{agent_id}"


def copy_path(sup: Supervisor, agent_id: str) -> Path:
    return sup.paths.worktrees / f"{agent_id}.check"


def log_path(sup: Supervisor, agent_id: str) -> Path:
    return sup.paths.session_dir(agent_id) / "check.log"


def _exit_path(sup: Supervisor, agent_id: str) -> Path:
    return sup.paths.session_dir(agent_id) / "check-exit.json"


class CheckRunning(SupervisorError):
    """A check of this agent is running already: one at a time (``jarvis check`` waits for it)."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        super().__init__(f"agent {agent_id} is already being checked (jarvis check {agent_id} waits for its result)")


def start(sup: Supervisor, ident: str) -> Agent:
    """Start the check of an agent's current work (refused while one runs)."""
    agent = sup.get(ident)
    require(agent, Action.CHECK)
    argv = list(sup.config.check_command(agent.agent))
    if not argv:
        raise UsageError(
            f'no check configured for profile {agent.agent}: set [review] check = ["pytest", "-q"] '
            "(or check = [...] in its [agents.*] table) in the config"
        )
    with sup.registry.transaction() as conn:
        if not sup.registry.write_row(
            conn,
            agent.id,
            {"check_state": "running", "check_at": sup.clock(), "check_exit": None},
            columns=ATTEMPT_FIELDS,
            where="check_state IS NULL OR check_state != 'running'",
        ):
            raise CheckRunning(agent.id)
    from .git import review as git_review
    from .git import worktrees
    from .reviewing import source_of

    try:
        where = source_of(sup, agent)
        if "worktree" in where:
            commit = git_review.snapshot_worktree(where["worktree"]).commit
        else:
            commit = worktrees.resolve_commit(sup.repo, str(where.get("snapshot") or where["head"]))
        copy = copy_path(sup, agent.id)
        _remove_copy(sup, copy)
        worktrees.add(sup.repo, copy, None, commit, workers=sup.config.supervisor.checkout_workers)
        _launch(sup, agent, argv, copy)
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the record must say failed
        _record(sup, agent, "failed", None, f"check could not start: {exc}")
        raise SupervisorError(f"check of {agent.id} could not start: {exc}") from None
    sup.registry.add_event("check_started", agent.id, agent.task_id, argv=argv, commit=commit)
    log.info("%s: check started on %s: %s", agent.id, commit[:12], argv)
    return sup.registry.get(agent.id)


def _launch(sup: Supervisor, agent: Agent, argv: list[str], copy: Path) -> None:
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    spec_path = sup.paths.session_dir(agent.id) / "check-spec.json"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "JARVIS_CHECK_OF": agent.id,
        "JARVIS_HOME": str(sup.config.state_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")))),
    }
    spec = {"argv": argv, "cwd": str(copy), "env": env, "exit_file": str(_exit_path(sup, agent.id))}
    spec_path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    _exit_path(sup, agent.id).unlink(missing_ok=True)
    log_file = log_path(sup, agent.id)
    log_file.write_bytes(b"")
    sup.tmux.kill_session(session(agent.id))
    launcher = [sys.executable, str(Path(__file__).with_name("launcher.py")), str(spec_path)]
    sup.tmux.start_session(session(agent.id), copy, launcher, log_file)


def settle(sup: Supervisor) -> list[Agent]:
    """Record the result of every check that finished (or whose session vanished)."""
    ids = sup.registry.ids("check_state = 'running'")
    if not ids:
        return []
    running = [sup.registry.get(i) for i in ids]
    sessions = set(sup.tmux.sessions())
    done = []
    for agent in running:
        try:
            data = json.loads(_exit_path(sup, agent.id).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            data = None
        if data is not None:
            code = data.get("exit_code")
            done.append(_record(sup, agent, "passed" if code == 0 else "failed", code, data.get("note", "")))
        elif session(agent.id) not in sessions and time.time() - (agent.check_at or 0) > 5:
            done.append(_record(sup, agent, "failed", None, "check interrupted: its session vanished"))
    return done


def _record(sup: Supervisor, agent: Agent, state: str, code: int | None, note: str) -> Agent:
    with sup.registry.transaction() as conn:
        sup.registry.write_row(conn, agent.id, {"check_state": state, "check_exit": code}, columns=ATTEMPT_FIELDS)
        sup.registry.add_event("check", agent.id, agent.task_id, conn=conn, state=state, exit_code=code, note=note)
    try:
        sup.tmux.kill_session(session(agent.id))
    except TmuxError as exc:
        log.warning("%s: could not end the check session: %s", agent.id, exc)
    _remove_copy(sup, copy_path(sup, agent.id))
    log.info("%s: check %s (exit %s)", agent.id, state, code)
    return sup.registry.get(agent.id)


def _remove_copy(sup: Supervisor, copy: Path) -> None:
    """The copy holds nothing of the agent's that is not in its worktree or refs."""
    if copy.exists():
        git.probe(sup.repo, "worktree", "remove", "--force", "--force", str(copy))
        shutil.rmtree(copy, ignore_errors=True)
    git.probe(sup.repo, "worktree", "prune")


def on_done(sup: Supervisor, now: float) -> list[Agent]:
    """``[review] check_on_done``: start the check of agents that ended done lately, once."""
    if not sup.config.review.check_on_done:
        return []
    started = []
    for agent_id in sup.registry.ids(
        "status = 'done' AND check_state IS NULL AND removed = 0 AND ended_at > ?", (now - 3600,)
    ):
        agent = sup.registry.get(agent_id)
        if not sup.config.check_command(agent.agent):
            continue
        try:
            started.append(start(sup, agent_id))
        except SupervisorError as exc:
            log.warning("%s: automatic check not started: %s", agent_id, exc)
    return started


def wait(sup: Supervisor, agent_id: str, timeout: float | None = None) -> Agent:
    """Block until the agent's check has a result."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        settle(sup)
        agent = sup.registry.get(agent_id)
        if agent.check_state != "running":
            return agent
        if deadline is not None and time.monotonic() > deadline:
            return agent
        time.sleep(0.2)


__all__ = ["PREFIX", "CheckRunning", "log_path", "on_done", "session", "settle", "start", "wait"]
