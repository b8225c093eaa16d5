"""The engine's one front door: spawn, reconcile, fire, retry, remove, send, report.

The CLI, the dashboard and the MCP server all drive this class; none keeps its own idea of
an agent's state. It holds what every operation shares (config, registry, tmux runner,
paths, hooks, clock) and delegates each operation to the module that owns it:

    spawn.py     validate and record a task       dispatch.py  admission and the queue
    launch.py    worktree, spec, tmux session     reconcile.py observations -> transitions
    stop.py      fire, stop, preserve             cleanup.py   rm
    retry.py     new attempts                     messaging.py send, heartbeat, report
    recovery.py  what a dead process left         details.py   show --json
    reviewing.py review an agent's work           merging.py   merge it; prune what is merged
    checks.py    run the project's checks on it   conflicts.py overlapping edits, file scopes
    batch.py     many tasks in one request        waiting.py   wait for agents to reach a state
    notes.py     findings shared between tasks    orchestrators.py  who is connected by MCP

Every status change goes through :func:`.lifecycle.transition` (via :meth:`transition`,
which adds the ``on_status_change`` hook); every operation that touches an agent's files
claims the agent first (:mod:`.claims`).

No lost work: nothing deletes a worktree before its files are committed to a ref under
``refs/jarvis/`` (fire: ``refs/jarvis/fired/<id>``; rm and retry: ``refs/jarvis/kept/<id>``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import journal, lifecycle
from .config import Config, ConfigError, Profile
from .errors import Busy, SupervisorError, UnknownAgent, UsageError
from .hooks import HookRunner
from .lifecycle import Event
from .models import Agent, Claim, Note
from .observe import read_exit
from .paths import PACKAGE_ROOT, SESSION_PREFIX, StatePaths, session_name
from .registry import NotFound, Registry, StorageError, storage_error
from .resources import ResourceSampler, SystemReading
from .tmux import Tmux

if TYPE_CHECKING:  # imported when first used (see the spawn, batch, wait, review and merge methods)
    from .batch import Spawned
    from .git.review import Review
    from .merging import Merged
    from .spawn import Route, TaskSpec
    from .waiting import Outcome


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
        self.paths = StatePaths(config.sessions_dir, config.worktrees_dir)
        try:
            config.sessions_dir.mkdir(parents=True, exist_ok=True)
            config.worktrees_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, config.registry_path) from None
        journal.configure(config.sessions_dir)
        path = config.registry_path
        fresh = not path.exists() or path.stat().st_size == 0
        self.registry = Registry(path, create=not (fresh and self.paths.has_records()))
        self.tmux = Tmux(config.supervisor.tmux_socket)
        self.hooks = HookRunner(config.hooks.on_status_change, config.sessions_dir / "hooks.log")
        self.budget_hooks = HookRunner(config.hooks.on_budget, config.sessions_dir / "hooks.log")
        self._sampler: ResourceSampler | None = None
        self._readings = readings
        self.cache: dict[str, Any] = {}  # values slow to compute and keyed by what they depend on
        # agent id -> (its log's (size, mtime ns), pane id, screen, when): the last capture (see observe)
        self.screens: dict[str, tuple[tuple[int, int], str, str, float]] = {}
        self.log_stamps: dict[str, tuple[int, int] | None] = {}  # each agent's log as the last tick saw it

    def reload(self, config: Config) -> None:
        """Use ``config`` from now on (the dashboard re-reads config.toml when it changes).

        Profiles, limits, resources and hooks apply at once; where the state lives, which
        repository and which tmux server are ours cannot change under running agents.
        """
        old = self.config.supervisor
        new = config.supervisor
        moved = [
            name
            for name, a, b in (
                ("repo", old.repo, new.repo),
                ("state_dir", old.state_dir, new.state_dir),
                ("tmux_socket", old.tmux_socket, new.tmux_socket),
            )
            if a != b
        ]
        if moved:
            raise UsageError(
                f"{', '.join(moved)} changed: that takes a restart (the running agents stay "
                "where they are); the rest of the config is not applied either"
            )
        self.config = config
        self.hooks = HookRunner(config.hooks.on_status_change, config.sessions_dir / "hooks.log")
        self.budget_hooks = HookRunner(config.hooks.on_budget, config.sessions_dir / "hooks.log")

    # ------------------------------------------------------------------ shared

    @property
    def repo(self) -> Path:
        return self.config.supervisor.repo

    def session_dir(self, agent_id: str) -> Path:
        return self.paths.session_dir(agent_id)

    def log_path(self, agent_id: str) -> Path:
        return self.paths.log(agent_id)

    def exit_path(self, agent_id: str) -> Path:
        return self.paths.exit(agent_id)

    def session_name(self, agent_id: str) -> str:
        return session_name(agent_id)

    def read_exit(self, agent_id: str) -> tuple[int | None, str, float | None]:
        return read_exit(self.paths, agent_id)

    def profile(self, name: str) -> Profile:
        try:
            return self.config.profile(name)
        except ConfigError as exc:
            raise UsageError(exc.message) from None

    def get(self, ident: str) -> Agent:
        try:
            return self.registry.get(self.registry.resolve(ident))
        except NotFound as exc:
            raise UnknownAgent(str(exc)) from None

    def agents(self, *, include_all: bool = False) -> list[Agent]:
        """Agents to show: the latest attempt of each task, not removed (``include_all``: every one)."""
        return self.registry.agents(include_removed=include_all, latest_only=not include_all)

    def transition(
        self,
        agent: Agent,
        event: Event,
        *,
        reason: str | None,
        claim: Claim | None = None,
        event_data: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Agent | None:
        """:func:`.lifecycle.transition` with this engine's clock and status hook."""
        return lifecycle.transition(
            self.registry,
            agent,
            event,
            reason=reason,
            now=self.clock(),
            claim=claim,
            notify=self.hooks.status_changed,
            event_data=event_data,
            **fields,
        )

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

    # ------------------------------------------------------------------ operations

    # Each operation imports the module that owns it when first used: every CLI call pays
    # its imports before it does anything (a spawn is timed against raw git + tmux), and the
    # dashboard's first paint needs the registry, not the machinery of fire, retry or merge.

    def validate_spawn(self, prompt: str, **kwargs: Any) -> TaskSpec:
        from . import spawn

        return spawn.validate(self, prompt, **kwargs)

    def spawn(self, prompt: str, **kwargs: Any) -> Agent:
        from . import spawn

        return spawn.spawn(self, prompt, **kwargs)

    def route(self, kind: str | None = None) -> Route:
        """How ``spawn --agent auto`` would choose now (nothing recorded)."""
        from . import spawn

        return spawn.route(self, kind)

    def admit(
        self, agent_id: str, *, reading: SystemReading | None = None, order: bool = False
    ) -> tuple[Agent, Claim | None]:
        from . import dispatch

        return dispatch.admit_one(self, agent_id, reading=reading, order=order)

    def dispatch(self, *, reading: SystemReading | None = None) -> list[Agent]:
        from . import dispatch

        return dispatch.dispatch(self, reading=reading)

    def start(self, agent_id: str, claim: Claim, *, base_commit: str | None = None) -> Agent:
        from . import launch

        return launch.start(self, agent_id, claim, base_commit=base_commit)

    def reconcile(self) -> list[Agent]:
        from . import reconcile

        return reconcile.reconcile(self)

    def fire(self, ident: str, reason: str, note: str = "", *, automatic: bool = False) -> Agent:
        from . import stop

        return stop.fire(self, ident, reason, note, automatic=automatic)

    def retry(
        self, ident: str, *, fresh: bool = False, not_before: float | None = None, automatic: bool = False
    ) -> Agent:
        from . import retry

        return retry.retry(self, ident, fresh=fresh, not_before=not_before, automatic=automatic)

    def retry_context(self, previous: Agent) -> str:
        from . import retry

        return retry.retry_context(previous)

    def remove(self, ident: str) -> Agent:
        from . import cleanup

        return cleanup.remove(self, ident)

    def send(self, ident: str, text: str, *, enter: bool = True) -> Agent:
        from . import messaging

        return messaging.send(self, ident, text, enter=enter)

    def heartbeat(self, ident: str, note: str | None = None) -> Agent:
        from . import messaging

        return messaging.heartbeat(self, ident, note)

    def report(self, ident: str, status: str, summary: str = "") -> Agent:
        from . import messaging

        return messaging.report(self, ident, status, summary)

    def report_state(self, ident: str, state: str, reason: str = "", *, via: str = "agent") -> Agent:
        from . import messaging

        return messaging.report_state(self, ident, state, reason, via=via)

    def details(self, agent: Agent) -> dict[str, Any]:
        from . import details

        return details.details(self, agent)

    # ------------------------------------------------------------------ orchestration

    def spawn_batch(self, data: Any) -> Spawned:
        from . import batch

        return batch.spawn_batch(self, data)

    def release(self, ident: str) -> Agent:
        from . import dispatch

        return dispatch.release(self, ident)

    def dispatch_preview(self, *, reading: SystemReading | None = None) -> dict[str, Any]:
        from . import dispatch

        reading = reading if reading is not None else self.reading()
        return dispatch.preview_json(self, dispatch.preview(self, reading=reading), reading)

    def wait(self, idents: list[str], **kwargs: Any) -> Outcome:
        from . import waiting

        return waiting.wait(self, idents, **kwargs)

    def add_note(self, ident: str, text: str, **kwargs: Any) -> Note:
        from . import notes

        return notes.add(self, ident, text, **kwargs)

    def notes(self, *, task: str | None = None, tag: str | None = None) -> list[Note]:
        from . import notes

        return notes.notes(self, tasks=None if task is None else [self.get(task).task_id], tag=tag)

    # ------------------------------------------------------------------ review and merge

    def review(self, ident: str, *, into: str | None = None) -> tuple[Agent, Review]:
        from . import reviewing

        return reviewing.review(self, ident, into=into)

    def merge(self, ident: str, **kwargs: Any) -> Merged:
        from . import merging

        return merging.merge(self, ident, **kwargs)

    def check(self, ident: str) -> Agent:
        from . import checks

        return checks.start(self, ident)

    def conflicts(self) -> list[dict[str, Any]]:
        from . import conflicts

        return conflicts.report(self)

    def shared_with(self, agent: Agent) -> list[dict[str, Any]]:
        """The paths ``agent`` shares with each agent it overlaps (the detail view)."""
        from . import conflicts

        return conflicts.shared_with(self, agent)

    def prune(self, **kwargs: Any) -> list[dict[str, Any]]:
        from . import merging

        return merging.prune(self, **kwargs)


__all__ = [
    "PACKAGE_ROOT",
    "SESSION_PREFIX",
    "Busy",
    "StorageError",
    "Supervisor",
    "SupervisorError",
    "UnknownAgent",
    "UsageError",
]
