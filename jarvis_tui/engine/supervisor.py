"""The engine's one front door: spawn, reconcile, fire, retry, remove, send, report.

The CLI and the dashboard both drive this class; neither keeps its own idea of an agent's
state. Every status change goes through :meth:`Supervisor._transition`, a compare-and-set
on the registry that also appends the event and runs the ``on_status_change`` hook, so two
processes reconciling at once never record one change twice.

No lost work: nothing here deletes a worktree before its files are committed to a ref under
``refs/jarvis/`` (fire: ``refs/jarvis/fired/<id>``; rm and retry: ``refs/jarvis/kept/<id>``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import worktrees
from .config import (
    AUTO_FIRE_REASONS,
    FIRE_REASONS,
    PRIORITIES,
    Config,
    ConfigError,
    Profile,
    substitute,
)
from .hooks import HookRunner
from .logs import strip_ansi
from .models import (
    ACTIVE,
    BLOCKED,
    DONE,
    ENDED,
    FAILED,
    FIRED,
    PENDING,
    QUEUED,
    RUNNING,
    STARTING,
    WAITING,
    WORKING,
    Agent,
    iso,
)
from .registry import NotFound, Registry
from .resources import ResourceSampler, SystemReading, process_tree, terminate
from .scheduler import Decision, admit, priority_key, waits_on_itself
from .tmux import Pane, Tmux, TmuxError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding jarvis_tui/
STARTING_TIMEOUT = 120.0  # a 'starting' agent with no session after this was interrupted
SESSION_PREFIX = "jarvis-"


class SupervisorError(Exception):
    """An operation could not be done; the message says why. CLI exit code 1."""

    exit_code = 1


class UsageError(SupervisorError):
    """Bad input (unknown profile, empty prompt, bad reason...). CLI exit code 2."""

    exit_code = 2


class UnknownAgent(SupervisorError):
    """No agent matches an id or prefix. CLI exit code 3."""

    exit_code = 3


@dataclass(frozen=True)
class Observation:
    """What one reconcile pass learnt about an active agent (also feeds the policies)."""

    pane: Pane | None
    screen: str | None
    exit_code: int | None
    exit_note: str
    ended_at: float | None
    last_output_at: float | None


def describe_exit(code: int) -> str:
    """'exited with code 3', or 'killed by SIGHUP (exit code 129)' for the shell's 128+N."""
    if code > 128:
        try:
            return f"killed by {signal.Signals(code - 128).name} (exit code {code})"
        except ValueError:
            pass
    return f"exited with code {code}"


class Supervisor:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        readings: Callable[[], SystemReading] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        config.sessions_dir.mkdir(parents=True, exist_ok=True)
        config.worktrees_dir.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(config.registry_path)
        self.tmux = Tmux(config.supervisor.tmux_socket)
        self.hooks = HookRunner(config.hooks.on_status_change, config.sessions_dir / "hooks.log")
        self._sampler: ResourceSampler | None = None
        self._readings = readings

    def reload(self, config: Config) -> None:
        """Use ``config`` from now on (the dashboard re-reads config.toml when it changes).

        Profiles, limits, resources and hooks apply at once; where the state lives, which
        repository and which tmux server are ours cannot change under running agents.
        """
        old = self.config.supervisor
        new = config.supervisor
        moved = [name for name, a, b in (("repo", old.repo, new.repo), ("state_dir", old.state_dir, new.state_dir),
                                         ("tmux_socket", old.tmux_socket, new.tmux_socket)) if a != b]
        if moved:
            raise UsageError(f"{', '.join(moved)} changed: that takes a restart (the running agents stay "
                             "where they are); the rest of the config is not applied either")
        self.config = config
        self.hooks = HookRunner(config.hooks.on_status_change, config.sessions_dir / "hooks.log")

    # ------------------------------------------------------------------ paths & lookups

    @property
    def repo(self) -> Path:
        return self.config.supervisor.repo

    def session_dir(self, agent_id: str) -> Path:
        return self.config.sessions_dir / agent_id

    def log_path(self, agent_id: str) -> Path:
        return self.session_dir(agent_id) / "output.log"

    def exit_path(self, agent_id: str) -> Path:
        return self.session_dir(agent_id) / "exit.json"

    def session_name(self, agent_id: str) -> str:
        return f"{SESSION_PREFIX}{agent_id}"

    def get(self, ident: str) -> Agent:
        try:
            return self.registry.get(self.registry.resolve(ident))
        except NotFound as exc:
            raise UnknownAgent(str(exc)) from None

    def agents(self, *, include_all: bool = False) -> list[Agent]:
        """Agents to show: the latest attempt of each task, not removed (``include_all``: every one)."""
        return self.registry.agents(include_removed=include_all, latest_only=not include_all)

    @property
    def sampler(self) -> ResourceSampler:
        if self._sampler is None:
            self._sampler = ResourceSampler()
        return self._sampler

    def reading(self) -> SystemReading:
        """System CPU/RAM: injected in tests, else the engine loop's smoothed reading if fresh."""
        if self._readings is not None:
            return self._readings()
        shared = self.registry.get_meta("resources")
        if shared:
            data = json.loads(shared)
            if self.clock() - data["at"] < 15:
                return SystemReading(cpu=data["cpu"], ram=data["ram"], at=data["at"])
        return self.sampler.system()

    # ------------------------------------------------------------------ spawn

    def spawn(
        self,
        prompt: str,
        *,
        agent: str | None = None,
        title: str | None = None,
        priority: str = "medium",
        after: str | None = None,
        max_attempts: int | None = None,
    ) -> Agent:
        """Record a task and its first attempt; start it now if admission allows, else queue it."""
        profile, title, after_task = self.validate_spawn(
            prompt, agent=agent, title=title, priority=priority, after=after, max_attempts=max_attempts)
        now = self.clock()
        with self.registry.transaction() as conn:
            agent_id = self.registry.new_id()
            self.registry.create_task(
                conn, task_id=agent_id, title=title, prompt=prompt, priority=priority,
                profile=profile.name, after_task_id=after_task, max_attempts=max_attempts, now=now,
            )
            self.registry.create_attempt(
                conn, attempt_id=agent_id, task_id=agent_id, attempt=1, profile=profile.name,
                status=QUEUED, now=now,
            )
            status, reason = self._admit_locked(agent_id)
            self.registry.add_event("spawned", agent_id, agent_id, conn=conn, now=now,
                                    agent=profile.name, priority=priority, status=status, reason=reason)
        if status == STARTING:
            return self.start(agent_id)
        return self.registry.get(agent_id)

    def validate_spawn(
        self,
        prompt: str,
        *,
        agent: str | None = None,
        title: str | None = None,
        priority: str = "medium",
        after: str | None = None,
        max_attempts: int | None = None,
    ) -> tuple[Profile, str, str | None]:
        """Check a spawn request without starting anything: (profile, title, after task id).

        Raises UsageError (or UnknownAgent for --after) with a message for the user; cheap
        (config and one registry read), so a dialog can call it before it closes.
        """
        profile = self._profile(agent or self.config.default_profile)
        if priority not in PRIORITIES:
            raise UsageError(f"unknown priority {priority!r} (choose from {', '.join(PRIORITIES)})")
        if not prompt.strip():
            raise UsageError("the prompt is empty")
        for name, text in (("prompt", prompt), ("title", title or "")):
            if "\x00" in text:
                raise UsageError(f"the {name} contains a NUL byte, which no program can receive")
        if max_attempts is not None and max_attempts < 1:
            raise UsageError("--max-attempts must be at least 1")
        if title is None or not title.strip():
            title = prompt.strip().splitlines()[0][:72]
        after_task = self.get(after).task_id if after else None
        return profile, title, after_task

    def _profile(self, name: str) -> Profile:
        try:
            return self.config.profile(name)
        except ConfigError as exc:
            raise UsageError(exc.message) from None

    def _admit_locked(self, agent_id: str, reading: SystemReading | None = None) -> tuple[str, str | None]:
        """Inside a write transaction: decide and record queued/blocked/starting for one agent."""
        agent = self.registry.get(agent_id)
        decision = self.decide(agent, reading=reading)
        if decision.admit:
            status, reason = STARTING, None
        else:
            status, reason = (BLOCKED if decision.block else QUEUED), decision.reason
        fields: dict[str, Any] = {"status": status, "queue_reason": reason}
        if status == BLOCKED:
            fields["status_reason"] = reason
        self.registry.update_attempt(agent_id, **fields)
        if status == STARTING:
            self.registry.set_meta("last_start_at", str(self.clock()))
        if status != agent.status:  # every status change reaches the hook, admission's too
            self.hooks.status_changed(agent, agent.status, status, reason)
        return status, reason

    def decide(self, agent: Agent, *, reading: SystemReading | None = None) -> Decision:
        active = self.registry.agents(statuses=ACTIVE)
        latest = {a.task_id: a for a in self.registry.agents(include_removed=True, latest_only=True)}
        last = self.registry.get_meta("last_start_at")
        return admit(
            agent, self.config, active, now=self.clock(),
            reading=reading if reading is not None else self.reading(),
            last_start_at=float(last) if last else None, tasks_latest=latest,
        )

    def dispatch(self, *, reading: SystemReading | None = None) -> list[Agent]:
        """Start queued agents in priority order while admission allows; block broken dependencies."""
        started: list[Agent] = []
        reading = reading if reading is not None else self.reading()
        pending = sorted(self.registry.agents(statuses=frozenset({QUEUED})), key=priority_key)
        for agent in pending:
            with self.registry.transaction():
                fresh = self.registry.get(agent.id)
                if fresh.status != QUEUED or fresh.removed:
                    continue
                status, reason = self._admit_locked(agent.id, reading)
                if status != fresh.status or reason != fresh.queue_reason:
                    if status != QUEUED:
                        self.registry.add_event("status", agent.id, agent.task_id, old=QUEUED,
                                                new=status, reason=reason, by="dispatch",
                                                cpu=round(reading.cpu, 1), ram=round(reading.ram, 1))
            if status == STARTING:
                try:
                    started.append(self.start(agent.id))
                except SupervisorError:
                    continue
            elif status == QUEUED and reason and not waits_on_itself(reason):
                # Capacity or resources said no: lower priorities must not jump the queue.
                break
        return started

    def start(self, agent_id: str) -> Agent:
        """Create the worktree and the tmux session of an agent already marked ``starting``."""
        agent = self.registry.get(agent_id)
        profile = self._profile(agent.agent)
        branch = f"jarvis/{worktrees.slugify(agent.title)}-{agent.id}"
        worktree = self.config.worktrees_dir / agent.id
        session = self.session_name(agent.id)
        # Record where things will be BEFORE making them: a crash mid-way leaves a findable trail.
        self.registry.update_attempt(agent.id, branch=branch, worktree=str(worktree), tmux_session=session)
        made_worktree = False
        made_session = False
        try:
            base_commit = worktrees.resolve_commit(self.repo, self.config.supervisor.base)
            start_point = agent.start_point or base_commit
            worktrees.add(self.repo, worktree, branch, start_point)
            made_worktree = True
            if agent.start_ref:
                worktrees.restore(worktree, agent.start_ref)
            if agent.attempt > 1 and agent.start_point:
                base_commit = self._task_base(agent) or base_commit
            launcher = self._write_spec(agent, profile, worktree, branch)
            if self.tmux.has_session(session):
                raise SupervisorError(f"a tmux session {session} already exists on socket "
                                      f"{self.tmux.socket}; run 'jarvis doctor'")
            made_session = True  # even a failed chained call may have left the session behind
            pane_id, pid = self.tmux.start_session(session, worktree, launcher, self.log_path(agent.id))
        except Exception as exc:  # undo exactly what this call made; it holds no agent work yet
            if made_session:
                self.tmux.kill_session(session)
            if made_worktree:
                try:
                    worktrees.remove(self.repo, worktree)
                    worktrees.delete_branch(self.repo, branch)
                except worktrees.WorktreeError:
                    pass
            message = f"could not start: {exc}"
            self._transition(agent, FAILED, reason=message, expect=STARTING, ended_at=self.clock(),
                             branch=None, worktree=None, tmux_session=None)
            raise SupervisorError(f"agent {agent.id} {message}") from None
        now = self.clock()
        self._transition(agent, WORKING, reason="started", expect=STARTING, pane_id=pane_id, pid=pid,
                         base_commit=base_commit, started_at=now, last_output_at=None,
                         queue_reason=None)
        return self.registry.get(agent.id)

    def _task_base(self, agent: Agent) -> str | None:
        for previous in self.registry.attempts_of(agent.task_id):
            if previous.base_commit:
                return previous.base_commit
        return None

    def _write_spec(self, agent: Agent, profile: Profile, worktree: Path, branch: str) -> list[str]:
        directory = self.session_dir(agent.id)
        directory.mkdir(parents=True, exist_ok=True)
        prompt_file = directory / "prompt.txt"
        prompt_file.write_bytes(agent.prompt.encode("utf-8", "surrogateescape"))
        values = {
            "prompt": agent.prompt,
            "prompt_file": str(prompt_file),
            "worktree": str(worktree),
            "branch": branch,
            "id": agent.id,
            "task_id": agent.task_id,
            "retry_context": agent.retry_context or "",
            "python": sys.executable,
        }
        argv = [substitute(item, values) for item in profile.command]
        env = {key: substitute(value, values) for key, value in profile.env.items()}
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable  # the interpreter jarvis runs on, which has jarvis_tui
        if argv[0] == sys.executable:  # ...even when jarvis runs from a source checkout
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH"))))
        bin_dir = str(Path(sys.executable).parent)
        env.update({
            "JARVIS_AGENT_ID": agent.id,
            "JARVIS_TASK_ID": agent.task_id,
            "JARVIS_ATTEMPT": str(agent.attempt),
            "JARVIS_HOME": str(self.config.state_dir),
            "JARVIS_CONFIG": str(self.config.path),
            "JARVIS_BRANCH": branch,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        })
        if agent.retry_context:
            env["JARVIS_RETRY_CONTEXT"] = agent.retry_context
        spec = {"argv": argv, "cwd": str(worktree), "env": env,
                "exit_file": str(self.exit_path(agent.id))}
        spec_path = directory / "spec.json"
        spec_path.write_text(json.dumps(spec, ensure_ascii=True, indent=2), encoding="ascii")
        self.exit_path(agent.id).unlink(missing_ok=True)
        # By file path: the launcher is stdlib-only and must not depend on how jarvis was installed.
        return [sys.executable, str(Path(__file__).with_name("launcher.py")), str(spec_path)]

    # ------------------------------------------------------------------ reconcile

    def observe(self, agents: list[Agent]) -> dict[str, Observation]:
        """One ``list-panes -a`` call for all, one batched capture for the panes that need one."""
        panes = self.tmux.list_panes() if agents else {}
        wants_screen = [
            panes[a.tmux_session].pane_id
            for a in agents
            if a.tmux_session in panes and not panes[a.tmux_session].dead
            and self.config.profiles.get(a.agent) is not None
            and self.config.profiles[a.agent].waiting_patterns
        ]
        screens = self.tmux.capture_many(wants_screen) if wants_screen else {}
        observations: dict[str, Observation] = {}
        for agent in agents:
            pane = panes.get(agent.tmux_session or "")
            exit_code, note, ended_at = self._read_exit(agent.id)
            try:
                mtime: float | None = self.log_path(agent.id).stat().st_mtime
            except FileNotFoundError:
                mtime = None
            observations[agent.id] = Observation(
                pane=pane, screen=screens.get(pane.pane_id) if pane else None,
                exit_code=exit_code, exit_note=note, ended_at=ended_at,
                last_output_at=mtime if (mtime and agent.started_at and mtime > agent.started_at) else None,
            )
        return observations

    def _read_exit(self, agent_id: str) -> tuple[int | None, str, float | None]:
        try:
            data = json.loads(self.exit_path(agent_id).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None, "", None
        return data.get("exit_code"), data.get("note", ""), data.get("ended_at")

    def reconcile(self) -> list[Agent]:
        """Bring every active agent's status in line with reality. Returns the changed ones."""
        agents = self.registry.agents(statuses=ACTIVE, include_removed=True)
        if not agents:
            return []
        observations = self.observe(agents)
        now = self.clock()
        changed: list[Agent] = []
        for agent in agents:
            if agent.firing_at is not None and now - agent.firing_at < self._firing_stale:
                continue  # its fire records the outcome
            obs = observations[agent.id]
            new, reason, fields = self.classify(agent, obs, now)
            if obs.last_output_at and obs.last_output_at != agent.last_output_at:
                fields.setdefault("last_output_at", obs.last_output_at)
            if new == agent.status and not fields:
                continue
            # A fire may claim the agent while this pass runs: its record wins (CAS below).
            unless = now - self._firing_stale
            if new == agent.status:
                self.registry.update_attempt(agent.id, unless_firing_since=unless, **fields)
                continue
            if self._transition(agent, new, reason=reason, expect=agent.status,
                                unless_firing_since=unless, **fields):
                changed.append(self.registry.get(agent.id))
        return changed

    def classify(self, agent: Agent, obs: Observation, now: float) -> tuple[str, str | None, dict[str, Any]]:
        """The status an active agent should have given one observation (pure but for config)."""
        fields: dict[str, Any] = {}
        if agent.status == STARTING:
            if obs.pane is None and now - agent.created_at > STARTING_TIMEOUT and not agent.pane_id:
                return FAILED, "start was interrupted (the starting process died)", {"ended_at": now}
            return STARTING, None, fields
        if obs.exit_code is not None:
            fields.update(exit_code=obs.exit_code, ended_at=obs.ended_at or now)
            if obs.exit_code == 0 and agent.reported_status != FAILED:
                return DONE, "exited 0", fields
            why = obs.exit_note or describe_exit(obs.exit_code)
            if obs.exit_code == 0:
                why = "reported failed"
            return FAILED, why, fields
        if obs.pane is None:
            fields["ended_at"] = now
            return FAILED, "tmux session vanished (server killed or machine restarted)", fields
        if obs.pane.dead:
            fields.update(ended_at=now, exit_code=obs.pane.dead_status)
            return FAILED, "agent ended without recording an exit code (wrapper killed)", fields
        if agent.reported_status == DONE:
            return DONE, "reported done" + (f": {agent.summary}" if agent.summary else ""), {"ended_at": now}
        if agent.reported_status == FAILED:
            return FAILED, "reported failed" + (f": {agent.summary}" if agent.summary else ""), {"ended_at": now}
        profile = self.config.profiles.get(agent.agent)
        if profile is not None and obs.screen:
            line = self._waiting_line(profile, obs.screen)
            if line is not None:
                return WAITING, f"asks: {line.strip()[:120]}", fields
        last = max(filter(None, (obs.last_output_at, agent.heartbeat_at, agent.started_at)), default=None)
        if profile is not None and profile.waiting_after and last is not None and now - last > profile.waiting_after:
            return WAITING, f"silent for {int(now - last)}s", fields
        return WORKING, "working", fields

    @staticmethod
    def _waiting_line(profile: Profile, screen: str) -> str | None:
        lines = [line for line in strip_ansi(screen).splitlines() if line.strip()]
        for line in lines[-5:]:
            for pattern in profile.compiled_waiting_patterns():
                if pattern.search(line):
                    return line
        return None

    def _transition(self, agent: Agent, new: str, *, reason: str | None, expect: str | frozenset[str] | None,
                    event: str = "status", unless_firing_since: float | None = None, **fields: Any) -> bool:
        """Compare-and-set a status; the event and the hook fire only for the process that won."""
        fields["status"] = new
        fields["status_reason"] = reason
        with self.registry.transaction() as conn:
            if not self.registry.update_attempt(agent.id, expect_status=expect,
                                                unless_firing_since=unless_firing_since, **fields):
                return False
            self.registry.add_event(event, agent.id, agent.task_id, conn=conn, old=agent.status,
                                    new=new, reason=reason)
        if new != agent.status:
            self.hooks.status_changed(agent, agent.status, new, reason)
        return True

    # ------------------------------------------------------------------ fire

    def fire(self, ident: str, reason: str, note: str = "", *, automatic: bool = False) -> Agent:
        """Stop the agent's whole process tree, preserve ALL its work to a ref, record why."""
        allowed = FIRE_REASONS + (AUTO_FIRE_REASONS if automatic else ())
        if reason not in allowed:
            raise UsageError(f"unknown fire reason {reason!r} (choose from {', '.join(FIRE_REASONS)})")
        agent = self.get(ident)
        if agent.status == FIRED:
            raise SupervisorError(f"agent {agent.id} was already fired")
        # Intent first: reconcile leaves a firing agent alone, so the kill below is not recorded
        # as a failure (nor hooked as one), and a second fire of the same agent is refused.
        if not self.registry.claim_firing(agent.id, self.clock(), stale_after=self._firing_stale):
            raise SupervisorError(f"agent {agent.id} is already being fired")
        self._stop_processes(agent)
        if agent.exit_code is None:
            agent.exit_code = self._read_exit(agent.id)[0]
        ref = None
        preserved = True
        if agent.worktree and Path(agent.worktree).is_dir():
            try:
                ref = f"refs/jarvis/fired/{agent.id}"
                worktrees.snapshot(Path(agent.worktree), ref, f"jarvis: work of {agent.id} when fired ({reason})\n\n{note}")
            except worktrees.WorktreeError as exc:
                ref, preserved = None, False
                self.registry.add_event("preserve_failed", agent.id, agent.task_id, error=str(exc))
        now = self.clock()
        with self.registry.transaction() as conn:
            self.registry.add_fire(conn, agent.id, reason, note, ref, automatic=automatic, now=now)
            self._transition(agent, FIRED, reason=f"fired: {reason}" + (f" ({note})" if note else ""),
                             expect=None, event="fired", ended_at=agent.ended_at or now,
                             exit_code=agent.exit_code, preserved_ref=ref, queue_reason=None)
        if preserved and ref and agent.worktree:
            self._remove_worktree(agent)
        return self.registry.get(agent.id)

    @property
    def _firing_stale(self) -> float:
        """After this long a fire that never finished (its process died) no longer holds the agent."""
        return self.config.supervisor.kill_grace + 60.0

    def _stop_processes(self, agent: Agent) -> None:
        if not agent.tmux_session and agent.status in PENDING:
            return
        procs = process_tree(agent.pid, agent.id)
        if procs:
            terminate(procs, self.config.supervisor.kill_grace)
        if agent.tmux_session:
            try:
                self.tmux.kill_session(agent.tmux_session)
            except TmuxError:
                pass

    def _remove_worktree(self, agent: Agent) -> None:
        try:
            worktrees.remove(self.repo, Path(agent.worktree or ""))
            self.registry.update_attempt(agent.id, worktree=None)
        except worktrees.WorktreeError as exc:
            self.registry.add_event("worktree_remove_failed", agent.id, agent.task_id, error=str(exc))

    def _keep(self, agent: Agent) -> str | None:
        """Preserve an ended agent's files to refs/jarvis/kept/<id> (only if anything is uncommitted)."""
        if agent.preserved_ref:
            return agent.preserved_ref
        if not agent.worktree or not Path(agent.worktree).is_dir():
            return None
        worktree = Path(agent.worktree)
        if not worktrees.is_dirty(worktree):
            return None
        ref = f"refs/jarvis/kept/{agent.id}"
        worktrees.snapshot(worktree, ref, f"jarvis: work of {agent.id} ({agent.status}) kept on cleanup")
        self.registry.update_attempt(agent.id, preserved_ref=ref)
        return ref

    def _retire(self, agent: Agent) -> None:
        """An ended agent gives up its session and worktree; its work stays in branch + ref."""
        if agent.tmux_session:
            self.tmux.kill_session(agent.tmux_session)
        try:
            self._keep(agent)
        except worktrees.WorktreeError as exc:
            raise SupervisorError(f"could not preserve the work of {agent.id}, so nothing was removed: {exc}") from None
        if agent.worktree and Path(agent.worktree).is_dir():
            self._remove_worktree(agent)

    # ------------------------------------------------------------------ retry

    def retry(self, ident: str, *, fresh: bool = False, not_before: float | None = None,
              automatic: bool = False) -> Agent:
        """A new attempt of the same task, by default starting from the files the last one left.

        ``not_before`` (epoch seconds) queues the attempt until then (automatic retry backoff);
        ``automatic`` marks the engine's own retries, which only ever follow the latest attempt.
        """
        previous = self.get(ident)
        if previous.status in ACTIVE:
            raise SupervisorError(f"agent {previous.id} is still {previous.status}; fire it first")
        if previous.status in PENDING:
            raise SupervisorError(f"agent {previous.id} has not started yet ({previous.status})")
        if previous.status not in ENDED:
            raise SupervisorError(f"agent {previous.id} cannot be retried from status {previous.status}")
        if previous.worktree:
            self._retire(previous)
            previous = self.registry.get(previous.id)
        start_point: str | None = None
        start_ref: str | None = None
        if not fresh:
            if previous.preserved_ref and worktrees.ref_exists(self.repo, previous.preserved_ref):
                start_point = worktrees.resolve_commit(self.repo, f"{previous.preserved_ref}^")
                start_ref = previous.preserved_ref
            elif previous.branch and worktrees.ref_exists(self.repo, f"refs/heads/{previous.branch}"):
                start_point = worktrees.resolve_commit(self.repo, previous.branch)
        context = self.retry_context(previous)
        now = self.clock()
        with self.registry.transaction() as conn:
            attempts = self.registry.attempts_of(previous.task_id)
            number = max(a.attempt for a in attempts) + 1
            if automatic and number != previous.attempt + 1:
                raise SupervisorError(f"task {previous.task_id} already has a newer attempt than {previous.id}")
            agent_id = self.registry.new_id()
            self.registry.create_attempt(
                conn, attempt_id=agent_id, task_id=previous.task_id, attempt=number,
                profile=previous.agent, status=QUEUED, now=now, retry_context=context,
                start_point=start_point, start_ref=start_ref, not_before=not_before,
            )
            status, reason = self._admit_locked(agent_id)
            self.registry.add_event("retried", agent_id, previous.task_id, conn=conn, now=now,
                                    previous=previous.id, fresh=fresh, status=status, reason=reason,
                                    automatic=automatic)
        if status == STARTING:
            return self.start(agent_id)
        return self.registry.get(agent_id)

    def retry_context(self, previous: Agent) -> str:
        parts = [f"attempt {previous.attempt} ({previous.id})"]
        if previous.status == FIRED and previous.fires:
            fire = previous.fires[-1]
            parts.append(f"was fired as {fire.reason}" + (f": {fire.note}" if fire.note else ""))
        elif previous.exit_code is not None:
            parts.append(f"exited with code {previous.exit_code}")
        else:
            parts.append(f"ended as {previous.status}")
        if previous.status_reason and previous.status != FIRED:
            parts.append(f"({previous.status_reason})")
        if previous.summary:
            parts.append(f"summary: {previous.summary}")
        return " ".join(parts)

    # ------------------------------------------------------------------ remove, send, reports

    def remove(self, ident: str) -> Agent:
        """Clean up a finished agent: session and worktree go, branch and preserved work stay."""
        agent = self.get(ident)
        if agent.removed:
            raise SupervisorError(f"agent {agent.id} was already removed")
        if agent.status in ACTIVE:
            raise SupervisorError(f"agent {agent.id} is {agent.status}; fire it first (jarvis fire {agent.id} --reason ...)")
        if agent.status in PENDING:  # cancelling is firing: it leaves a record of why
            raise SupervisorError(f"agent {agent.id} is {agent.status} and never ran; cancel it with "
                                  f"jarvis fire {agent.id} --reason ...")
        self._retire(agent)
        with self.registry.transaction() as conn:
            self.registry.update_attempt(agent.id, removed=1, tmux_session=agent.tmux_session)
            self.registry.add_event("removed", agent.id, agent.task_id, conn=conn,
                                    status=agent.status, ref=self.registry.get(agent.id).preserved_ref)
        return self.registry.get(agent.id)

    def send(self, ident: str, text: str, *, enter: bool = True) -> Agent:
        agent = self.get(ident)
        if agent.status not in RUNNING or not agent.pane_id:
            raise SupervisorError(f"agent {agent.id} is {agent.status}; only a running agent takes input")
        if "\x00" in text:
            raise UsageError("the text contains a NUL byte")
        try:
            self.tmux.send_text(agent.pane_id, text, enter=enter)
        except TmuxError as exc:
            raise SupervisorError(f"could not send to {agent.id}: {exc}") from None
        self.registry.add_event("sent", agent.id, agent.task_id, chars=len(text))
        if agent.status == WAITING:
            self._transition(agent, WORKING, reason="input sent", expect=WAITING)
        return self.registry.get(agent.id)

    def heartbeat(self, ident: str, note: str | None = None) -> Agent:
        agent = self.get(ident)
        now = self.clock()
        self.registry.update_attempt(agent.id, heartbeat_at=now, heartbeat_note=note)
        if agent.status == WAITING and (agent.status_reason or "").startswith(("silent", "stalled")):
            self._transition(agent, WORKING, reason="heartbeat", expect=WAITING)
        return self.registry.get(agent.id)

    def report(self, ident: str, status: str, summary: str = "") -> Agent:
        if status not in (DONE, FAILED):
            raise UsageError("report --status must be done or failed")
        agent = self.get(ident)
        self.registry.update_attempt(agent.id, reported_status=status, summary=summary or None)
        self.registry.add_event("report", agent.id, agent.task_id, status=status, summary=summary)
        if agent.status in ACTIVE:
            self.reconcile()
        return self.registry.get(agent.id)

    # ------------------------------------------------------------------ details

    def details(self, agent: Agent) -> dict[str, Any]:
        """``show --json``: the agent plus prompt, git facts and attempts."""
        data = agent.to_json()
        data["prompt"] = agent.prompt
        data["status_reason"] = agent.status_reason
        data["preserved_ref"] = agent.preserved_ref
        data["retry_context"] = agent.retry_context
        data["log"] = str(self.log_path(agent.id))
        profile = self.config.profiles.get(agent.agent)
        data["profile"] = {"model": profile.model, "role": profile.role} if profile else None
        data["decisions"] = [  # the engine's automatic decisions about this task, newest last
            {"at": iso(e["at"]), "attempt_id": e["attempt_id"], "decision": e["data"].get("decision", ""),
             "note": e["data"].get("note", ""), "data": e["data"]}
            for e in self.registry.events(task_id=agent.task_id, kinds=("policy",), limit=50, newest=True)
        ]
        worktree = Path(agent.worktree) if agent.worktree else None
        info = worktrees.details(self.repo, worktree, agent.branch, agent.base_commit) if agent.branch else None
        data["commits_ahead"] = info.commits_ahead if info else 0
        data["last_commit"] = info.last_commit if info else None
        data["dirty"] = info.dirty if info else None
        data["attempts"] = [
            {"id": a.id, "attempt": a.attempt, "status": a.status, "exit_code": a.exit_code,
             "status_reason": a.status_reason, "fires": [f.to_json() for f in a.fires]}
            for a in self.registry.attempts_of(agent.task_id)
        ]
        return data
