"""Starting an agent: its worktree and branch, its spec file, its tmux session.

A start runs under the agent's ``start`` claim (taken with the ``queued -> starting``
transition), and records where things will be BEFORE making them, so a crash mid-way
leaves a trail that recovery follows (:mod:`.recovery`). It checks for a stop request
between steps: a fire that arrives while the worktree is being made ends with the agent
``fired``, what was made stopped, its files preserved, its worktree removed.

The prompt never passes through a shell or a tmux argument: argv and environment go to
``sessions/<id>/spec.json``, read by the launcher inside the pane (:mod:`.launcher`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import agent_hooks, claims, notes
from .config import Profile
from .errors import SupervisorError
from .git import worktrees
from .lifecycle import Event
from .models import Agent, Claim
from .paths import PACKAGE_ROOT, session_name
from .placeholders import substitute
from .presets import HOME_VARIABLES, agent_path
from .tmux import TmuxError

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.launch")

# Linux refuses one argv string longer than this (MAX_ARG_STRLEN, 32 pages), whatever ARG_MAX is.
MAX_ARG_BYTES = 128 * 1024 - 1
MAX_ARGV_BYTES = 1024 * 1024  # and the whole argv + environment well under ARG_MAX (2 MiB)


class _Stop(Exception):
    """A fire asked for while this start held the agent."""

    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__("stop requested")
        self.request = request


@dataclass
class _Made:
    worktree: bool = False
    session: bool = False
    pid: int | None = None


def branch_name(agent: Agent) -> str:
    """``jarvis/<slug>-<id>``, or ``jarvis/<ticket>-<slug>-<id>``: a branch names its ticket."""
    ticket = f"{agent.ticket}-" if agent.ticket else ""
    return f"jarvis/{ticket}{worktrees.slugify(agent.title)}-{agent.id}"


def start(sup: Supervisor, agent_id: str, claim: Claim, *, base_commit: str | None = None) -> Agent:
    """Make the worktree and the session of an agent marked ``starting`` under ``claim``
    (``base_commit``: what its base named a moment ago, when the caller just resolved it)."""
    try:
        return _start(sup, sup.registry.get(agent_id), claim, base_commit)
    finally:
        claims.release(sup.registry, agent_id, claim)


def _stop_requested(sup: Supervisor, agent_id: str) -> None:
    request = sup.registry.get(agent_id).stop_request
    if request is not None:
        raise _Stop(request)


def _start(sup: Supervisor, agent: Agent, claim: Claim, resolved: str | None = None) -> Agent:
    profile = sup.profile(agent.agent)
    branch = branch_name(agent)
    worktree = sup.paths.worktree(agent.id)
    session = session_name(agent.id)
    sup.registry.update_attempt(agent.id, branch=branch, worktree=str(worktree), tmux_session=session)
    made = _Made()
    try:
        try:
            base_commit = resolved or worktrees.resolve_commit(sup.repo, agent.base or sup.config.supervisor.base)
        except worktrees.WorktreeError:
            if agent.base:
                raise SupervisorError(f"its base {agent.base!r} is not a branch or commit any more") from None
            raise SupervisorError(sup.config.base_problem() or "the base commit cannot be resolved") from None
        start_point = agent.start_point or base_commit
        _stop_requested(sup, agent.id)
        worktrees.add(sup.repo, worktree, branch, start_point, workers=sup.config.supervisor.checkout_workers)
        made.worktree = True
        if agent.start_ref:
            worktrees.restore(worktree, agent.start_ref)
        if agent.attempt > 1 and agent.start_point:
            base_commit = _task_base(sup, agent) or base_commit
        _stop_requested(sup, agent.id)
        run_as, extra_env = notes.prepare(sup, agent)  # its dependencies' findings, if it has any
        too_long = argv_problem(*agent_argv(sup, run_as, profile, worktree, branch))
        if too_long:
            raise SupervisorError(f"its prompt with its dependencies' findings: {too_long}")
        launcher = write_spec(sup, run_as, profile, worktree, branch, extra_env=extra_env)
        try:
            pane_id, pid = sup.tmux.start_session(session, worktree, launcher, sup.paths.log(agent.id))
        except TmuxError as exc:
            if "duplicate session" in str(exc):  # someone else's: never ours to kill
                raise SupervisorError(
                    f"a tmux session {session} already exists on socket {sup.tmux.socket}; run 'jarvis doctor'"
                ) from None
            made.session = True  # a failed chained call may have left the session behind
            raise
        made.pid = pid
        with sup.registry.transaction():
            _stop_requested(sup, agent.id)  # a fire that came in just now wins
            started = sup.transition(
                agent,
                Event.LAUNCHED,
                reason="started",
                claim=claim,
                pane_id=pane_id,
                pid=pid,
                base_commit=base_commit,
                started_at=sup.clock(),
                last_output_at=None,
                queue_reason=None,
                queue_kind=None,
                queue_data=None,
            )
        if started is None:
            raise SupervisorError("its record changed while it was starting")
        return started
    except _Stop as stop:
        return abort(sup, sup.registry.get(agent.id), claim, stop.request, made_session=made.session, pid=made.pid)
    except Exception as exc:  # noqa: BLE001 - any failure: undo what was made, record why
        _undo(sup, agent, made, branch, worktree, session)
        message = f"could not start: {exc}"
        log.warning("%s %s", agent.id, message)
        sup.transition(
            sup.registry.get(agent.id),
            Event.START_FAILED,
            reason=message,
            claim=claim,
            ended_at=sup.clock(),
            branch=None,
            worktree=None,
            tmux_session=None,
        )
        raise SupervisorError(f"agent {agent.id} {message}") from None


def _undo(sup: Supervisor, agent: Agent, made: _Made, branch: str, worktree: Path, session: str) -> None:
    """Undo exactly what a failed start made; it holds no agent work yet (a retry's files
    are safe in the ref they were restored from)."""
    if made.session:
        try:
            sup.tmux.kill_session(session)
        except TmuxError as exc:
            log.warning("%s: could not kill the half-made session: %s", agent.id, exc)
    if made.worktree:
        try:
            worktrees.remove(sup.repo, worktree)
            worktrees.delete_branch(sup.repo, branch)
        except worktrees.WorktreeError as exc:
            log.warning("%s: could not remove the half-made worktree: %s", agent.id, exc)


def abort(
    sup: Supervisor, agent: Agent, claim: Claim, request: dict[str, Any], *, made_session: bool, pid: int | None
) -> Agent:
    """A fire won the race with this start: stop what was made, keep the files, record the fire."""
    from .stop import finish_requested_fire  # late: stop imports launch's neighbours

    log.info("%s: fired while starting (%s)", agent.id, request.get("reason"))
    if made_session and pid:
        agent.pid = pid
    return finish_requested_fire(sup, agent, claim, request)


def _task_base(sup: Supervisor, agent: Agent) -> str | None:
    for previous in sup.registry.attempts_of(agent.task_id):
        if previous.base_commit:
            return previous.base_commit
    return None


def placeholder_values(sup: Supervisor, agent: Agent, profile: Profile, worktree: Path, branch: str) -> dict[str, str]:
    """Every placeholder's value for this agent; ``prompt`` is what it is told: the task's prompt,
    wrapped in the profile's ``prompt_template`` if it has one (byte for byte inside it: one pass,
    so braces in the task's prompt stay as they are)."""
    values = {
        "prompt": agent.prompt,
        "prompt_file": str(sup.paths.prompt(agent.id)),
        "worktree": str(worktree),
        "branch": branch,
        "id": agent.id,
        "task_id": agent.task_id,
        "kind": agent.kind or "",
        "model": profile.model,
        "retry_context": agent.retry_context or "",
        "python": sys.executable,
        "findings_file": str(sup.paths.findings(agent.id)) if agent.dependencies else "",
        "session_dir": str(sup.paths.session_dir(agent.id)),
        **agent_hooks.placeholders(sup, agent.id),
    }
    if profile.prompt_template:
        values["prompt"] = substitute(profile.prompt_template, {**values, "task_prompt": agent.prompt})
    return values


def agent_argv(
    sup: Supervisor, agent: Agent, profile: Profile, worktree: Path, branch: str
) -> tuple[list[str], dict[str, str]]:
    """The agent's argv and extra environment, placeholders substituted (no I/O)."""
    values = placeholder_values(sup, agent, profile, worktree, branch)
    argv = [substitute(item, values) for item in profile.command]
    env = {key: substitute(value, values) for key, value in profile.env.items()}
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable  # the interpreter jarvis runs on, which has jarvis_tui
    return argv, env


def argv_problem(argv: list[str], env: dict[str, str]) -> str | None:
    """Why the kernel would refuse this argv ("Argument list too long"), or None."""
    for item in argv:
        if len(os.fsencode(item)) > MAX_ARG_BYTES:
            return (
                f"one argument is {len(os.fsencode(item)):,} bytes, over the system's limit of "
                f"{MAX_ARG_BYTES + 1:,} per argument; pass a long prompt as a file: use {{prompt_file}} "
                "instead of {prompt} in the profile's command"
            )
    total = sum(len(os.fsencode(x)) + 1 for x in argv) + sum(len(k) + len(v) + 2 for k, v in env.items())
    if total > MAX_ARGV_BYTES:
        return (
            f"the command line is {total:,} bytes, over {MAX_ARGV_BYTES:,}; pass the prompt as a file "
            "with {prompt_file}"
        )
    return None


def write_spec(
    sup: Supervisor,
    agent: Agent,
    profile: Profile,
    worktree: Path,
    branch: str,
    *,
    extra_env: dict[str, str] | None = None,
) -> list[str]:
    directory = sup.paths.session_dir(agent.id)
    directory.mkdir(parents=True, exist_ok=True)
    told = placeholder_values(sup, agent, profile, worktree, branch)["prompt"]
    sup.paths.prompt(agent.id).write_bytes(told.encode("utf-8", "surrogateescape"))
    if told != agent.prompt:
        sup.paths.task_prompt(agent.id).write_bytes(agent.prompt.encode("utf-8", "surrogateescape"))
    agent_hooks.prepare(sup, agent, (*profile.command, *profile.env.values()))
    argv, env = agent_argv(sup, agent, profile, worktree, branch)
    for name in HOME_VARIABLES:  # the agent writes its transcripts where the engine reads them
        if name in os.environ and name not in env:
            env[name] = os.environ[name]
    if argv[0] == sys.executable:  # ...even when jarvis runs from a source checkout
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH"))))
    env.update(
        {
            "JARVIS_AGENT_ID": agent.id,
            "JARVIS_TASK_ID": agent.task_id,
            "JARVIS_ATTEMPT": str(agent.attempt),
            "JARVIS_HOME": str(sup.config.state_dir),
            "JARVIS_CONFIG": str(sup.config.path),
            "JARVIS_BRANCH": branch,
            "PATH": agent_path(env.get("PATH")),
        }
    )
    if agent.retry_context:
        env["JARVIS_RETRY_CONTEXT"] = agent.retry_context
    env.update(extra_env or {})
    spec = {
        "argv": argv,
        "cwd": str(worktree),
        "env": env,
        "exit_file": str(sup.paths.exit(agent.id)),
        # enough to rebuild the registry row if the registry is ever lost (doctor --adopt)
        "record": {
            "id": agent.id,
            "task_id": agent.task_id,
            "attempt": agent.attempt,
            "title": agent.title,
            "agent": agent.agent,
            "priority": agent.priority,
            "branch": branch,
            "created_at": agent.created_at,
            "after": agent.after_task_id,
            "after_tasks": agent.dependencies,
            "ticket": agent.ticket,
            "kind": agent.kind,
            "budget_usd": agent.budget_usd,
        },
    }
    spec_path = sup.paths.spec(agent.id)
    tmp = spec_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(spec, ensure_ascii=True, indent=2), encoding="ascii")
    os.replace(tmp, spec_path)
    sup.paths.exit(agent.id).unlink(missing_ok=True)
    # By file path: the launcher is stdlib-only and must not depend on how jarvis was installed.
    return [sys.executable, str(Path(__file__).with_name("launcher.py")), str(spec_path)]


__all__ = [
    "MAX_ARG_BYTES",
    "abort",
    "agent_argv",
    "argv_problem",
    "branch_name",
    "placeholder_values",
    "start",
    "write_spec",
]
