"""The dashboard: watch and steer every agent from the keyboard.

A second face over the engine, like the CLI: it reads what :class:`EngineLoop` observes and
acts through :class:`Supervisor`, never keeping its own idea of an agent's state.

Threads (NOTES.md: a tmux or git call must never freeze the screen):

- the poll: a thread worker runs ``loop.tick()`` and posts the result; the next tick is
  scheduled only when that one has finished, so slow ticks never pile up (dolphie style);
- actions (spawn, fire, retry, send, rm, attach's checks) run in thread workers with
  ``exit_on_error=False``; a failure becomes an error notification, never a dead app;
- git facts for the table (commits ahead, dirty) are polled every few seconds, not per tick;
- each log pane reads its agent's log file in a short worker, only while it is on screen.

Quitting leaves the agents running in tmux; reopening shows them as they are.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

from textual import events, on, work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input

from ..engine import worktrees
from ..engine.loop import EngineLoop, TickResult
from ..engine.models import ACTIVE, DONE, FAILED, FIRED, PENDING, RUNNING, WAITING, Agent
from ..engine.overseer import Action
from ..engine.resources import SystemReading
from ..engine.supervisor import Supervisor, SupervisorError, UsageError
from ..format import one_line
from .messages import EngineChanged, GitFactsReady, SpawnRejected, TickFailed, Ticked
from .screens.confirm import ConfirmScreen
from .screens.detail import DetailScreen
from .screens.fire import FireScreen
from .screens.metrics import MetricsScreen
from .screens.send import SendScreen
from .screens.spawn import SpawnRequest, SpawnScreen
from .widgets.agent_table import AgentTable, GitFacts
from .widgets.gauge import ResourceGauge
from .widgets.grid import LogGrid
from .widgets.log_pane import LogPane

# Actions that act on the main screen; disabled while a dialog or the detail view is up.
MAIN_ACTIONS = frozenset({"spawn", "fire", "retry", "attach", "send", "remove", "details", "diff",
                          "grid", "filter", "sort", "metrics"})


def while_open(handler: Callable[..., None]) -> Callable[..., None]:
    """For handlers of worker results: a result that lands while the app is closing (its
    widgets already gone) is dropped instead of crashing the exit."""

    @wraps(handler)
    def wrapper(self: "JarvisApp", *args: object) -> None:
        if self.closing_down:
            return
        try:
            handler(self, *args)
        except NoMatches:
            if not self.closing_down:
                raise

    return wrapper


class FilterInput(Input):
    """The ``/`` filter line: ``enter`` keeps the filter, ``escape`` clears it."""

    BINDINGS = [Binding("escape", "clear", "Clear filter", show=False)]

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.app.query_one(AgentTable).focus()


class KeysFooter(Footer):
    """The footer, with the "^p palette" hint only where the keys leave room for it."""

    def on_resize(self, event: events.Resize) -> None:
        wanted = event.size.width >= 110
        if wanted != self.show_command_palette:
            self.show_command_palette = wanted
            self.call_after_refresh(self.recompose)


class JarvisApp(App[str]):
    """The dashboard over one :class:`Supervisor` (inject ``loop``/clock/readings in tests)."""

    CSS_PATH = "app.tcss"
    TITLE = "jarvis"
    # Footer order is the order of usefulness: at 80 columns the last ones scroll off (all
    # of them, and the hidden ones, are in the command palette, ctrl+p).
    BINDINGS = [
        Binding("n", "spawn", "Spawn"),
        Binding("f", "fire", "Fire"),
        Binding("s", "send", "Send"),
        Binding("r", "retry", "Retry", key_display="r/R"),  # R: fresh from base
        Binding("a", "attach", "Attach"),
        Binding("i", "details", "Info"),  # and enter on a row
        Binding("g", "grid", "Grid"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("x", "remove", "Remove"),
        Binding("q", "quit", "Quit"),
        Binding("R", "retry(True)", "Retry fresh", show=False),
        Binding("d", "diff", "Diff", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("m", "metrics", "Metrics", show=False),  # the footer is full at 80 columns
    ]

    def __init__(
        self,
        sup: Supervisor,
        *,
        loop: EngineLoop | None = None,
        readings: Callable[[], SystemReading] | None = None,
        interval: float = 1.0,
        git_interval: float | None = 5.0,
        cli: str = "jarvis",
        quit_note: str | None = None,
    ) -> None:
        super().__init__()
        self.sup = sup
        self.config = sup.config
        self.loop = loop if loop is not None else EngineLoop(sup, readings=readings)
        self.clock = sup.clock
        self.interval = interval
        self.git_interval = git_interval
        self.cli = cli
        self.quit_note = quit_note
        self.agents: dict[str, Agent] = {}
        self.statuses: dict[str, str] | None = None  # each agent's status at the last tick (None: no tick yet)
        self.ticks = 0
        self.git_facts: dict[str, GitFacts] = {}
        self.selected: str | None = None
        self.selected_task: str | None = None
        self.want_select: str | None = None
        self.grid_mode = False
        self.last_error = ""
        self._ticking = False
        self._tick_again = False
        self._tick_timer: Timer | None = None
        self._git_running = False
        self._git_last = float("-inf")
        self._git_status: dict[str, str] = {}

    @property
    def closing_down(self) -> bool:
        # not is_running: shutting down without exit() (run_test, a crash) prunes the screens'
        # widgets while worker results are still being delivered.
        return bool(self._exit or not self.is_running or self._closing or self._closed or not self.screen_stack
                    or not self.screen_stack[0].is_attached)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        yield ResourceGauge(self.config.resources, self.config.supervisor.max_agents, id="gauge")
        yield FilterInput(placeholder="filter: words, or a status (waiting, failed…) · enter keep · esc clear",
                          id="filter", compact=True)
        with Vertical(id="body"):
            yield AgentTable(id="agents")
            yield LogPane(id="log")
            yield LogGrid(self.sup.log_path, id="grid")
        yield KeysFooter(compact=True)

    @property
    def table(self) -> AgentTable:
        return self.query_one("#agents", AgentTable)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one("#log", LogPane)

    @property
    def gauge(self) -> ResourceGauge:
        return self.query_one("#gauge", ResourceGauge)

    def on_mount(self) -> None:
        self.sub_title = (f"{self.sup.repo.name} · tmux -L {self.sup.tmux.socket} · "
                          "agents keep running when you quit")
        self.query_one("#filter", FilterInput).display = False
        self.table.facts = self.git_facts  # one dict: git polls update it, the table reads it
        self.table.focus()
        self.update_titles()
        self.set_interval(0.12, self.table.tick_spinner)
        self.start_tick()
        if not self.is_headless:
            # Killed or hung up: close like `q` does, so the lease is released and, for the
            # demo, the scratch agents are cleaned up. (The agents themselves run in tmux.)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                try:
                    loop.add_signal_handler(sig, self.quit_now)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass

    # ------------------------------------------------------------------ the poll

    def start_tick(self) -> None:
        """Tick now, or right after the tick in flight (never two at once)."""
        if self._ticking:
            self._tick_again = True
            return
        if self._tick_timer is not None:
            self._tick_timer.stop()
            self._tick_timer = None
        self._ticking = True
        self.tick_worker()

    @work(thread=True, exit_on_error=False, group="tick")
    def tick_worker(self) -> None:
        try:
            result = self.loop.tick()
        except Exception as exc:  # tmux gone, registry locked, disk full...: shown, retried
            self.post_message(TickFailed(str(exc) or type(exc).__name__))
        else:
            self.post_message(Ticked(result))
        finally:
            self.sup.registry.close()  # this thread's connection; the next tick is a new thread

    def schedule_tick(self) -> None:
        self._ticking = False
        again, self._tick_again = self._tick_again, False
        if again:  # an action asked for fresh data while that tick ran
            self.call_later(self.start_tick)
        else:
            self._tick_timer = self.set_timer(self.interval, self.start_tick)

    @while_open
    def on_ticked(self, message: Ticked) -> None:
        try:
            self.show_tick(message.result)
        except NoMatches:
            raise  # closing down (see while_open)
        except Exception as exc:  # a display bug must not stop the poll: say it, carry on
            self.say(f"{type(exc).__name__}: {exc}", severity="error", title="dashboard error")
        finally:
            self.schedule_tick()

    def show_tick(self, result: TickResult) -> None:
        self.ticks += 1
        self.agents = {a.id: a for a in result.agents}
        self.last_error = ""
        note = "" if result.leader else "observing: another engine process leads"
        self.gauge.show(result.reading, result.agents, note=note)
        self.table.show_agents(result.agents, result.usage, self.clock())
        self.follow_selection()
        self.sync_selection()
        if self.grid_mode:
            self.show_grid()
        self.announce(result.changed)
        self.announce_waiting(result)
        self.announce_actions(result.actions)
        self.update_titles()
        self.poll_git(result.agents)

    @while_open
    def on_tick_failed(self, message: TickFailed) -> None:
        try:
            self.gauge.show_error(message.error)
            if message.error != self.last_error:
                self.last_error = message.error
                self.say(message.error, title="engine poll failed (retrying)", severity="error")
        finally:
            self.schedule_tick()

    @while_open
    def on_spawn_rejected(self, message: SpawnRejected) -> None:
        self.open_spawn(message.request, message.error)

    @while_open
    def on_engine_changed(self, message: EngineChanged) -> None:
        if message.select:
            self.want_select = message.select
        if message.acted_on:
            self.table.busy.pop(message.acted_on, None)
        self.start_tick()

    def follow_selection(self) -> None:
        """Keep the cursor on the agent the user chose, or on the new attempt of its task."""
        table = self.table
        if self.want_select and table.select(self.want_select):
            self.want_select = None
            return
        if self.selected and self.selected not in table.visible_ids and self.selected_task:
            for agent_id in table.visible_ids:
                if self.agents[agent_id].task_id == self.selected_task:
                    table.select(agent_id)
                    return

    def announce(self, changed: Iterable[Agent]) -> None:
        for agent in changed:
            if agent.id in self.table.busy:  # our own fire/rm in flight: its result is announced
                continue
            title = one_line(agent.title, 40)
            if agent.status == FAILED:  # (waiting: announce_waiting)
                self.notify(f"{agent.id} {title}: {agent.status_reason or 'failed'}", title="failed",
                            severity="error", markup=False)
            elif agent.status == DONE:
                self.notify(f"{agent.id} {title}", title="done", markup=False)
            elif agent.status == FIRED:
                self.notify(f"{agent.id} {title}: {agent.status_reason}", title="fired", severity="error",
                            markup=False)

    def announce_waiting(self, result: TickResult) -> None:
        """The one place that tells the user an agent wants input: a notification for each agent
        that started waiting, and one terminal bell for the lot.

        "Started" is against the previous tick, not only this tick's reconcile: a CLI call or
        a headless engine may have moved the agent between two ticks. No bell on the first
        tick: those agents were waiting before the dashboard opened (the ones this very tick
        saw change still get their notification).
        """
        previous, self.statuses = self.statuses, {a.id: a.status for a in result.agents}
        changed = {a.id for a in result.changed}
        started = [a for a in result.agents if a.status == WAITING and a.id not in self.table.busy
                   and (a.id in changed if previous is None else previous.get(a.id) != WAITING)]
        for agent in started:
            self.notify(f"{agent.id} is waiting: {agent.status_reason or 'for input'} (s answers)",
                        title="waiting for you", severity="warning", markup=False)
        if started and previous is not None:
            self.bell()

    def announce_actions(self, actions: Iterable[Action]) -> None:
        """The engine's own decisions this tick (automatic retries, policy fires...)."""
        severities = {"fire": "error", "error": "error", "retry_exhausted": "error", "retry": "warning",
                      "stalled": "warning"}
        for action in actions:
            self.say(f"{action.agent_id}: {action.note}", title=f"engine: {action.kind.replace('_', ' ')}",
                     severity=severities.get(action.kind, "information"))

    # ------------------------------------------------------------------ git facts

    def poll_git(self, agents: list[Agent]) -> None:
        listed = {a.id for a in agents}  # removed agents and earlier attempts leave the table: forget them
        for known in (self.git_facts, self._git_status):
            for agent_id in known.keys() - listed:
                del known[agent_id]
        if self.git_interval is None or self._git_running:
            return
        if time.monotonic() - self._git_last < self.git_interval:
            return
        todo = [a for a in agents if a.branch and a.base_commit
                and (a.is_active or self._git_status.get(a.id) != a.status)]
        if not todo:
            return
        self._git_running = True
        self._git_last = time.monotonic()
        self.git_worker(todo)

    @work(thread=True, exit_on_error=False, group="git")
    def git_worker(self, agents: list[Agent]) -> None:
        """Git only (what ``jarvis show`` computes for these two columns): no registry here."""
        facts: dict[str, GitFacts] = {}
        statuses: dict[str, str] = {}
        try:
            for agent in agents:
                try:
                    info = worktrees.details(self.sup.repo, Path(agent.worktree) if agent.worktree else None,
                                             agent.branch, agent.base_commit)
                except Exception:  # a worktree vanishing mid-call: try again next round
                    continue
                facts[agent.id] = GitFacts(info.commits_ahead, info.dirty)
                statuses[agent.id] = agent.status
        finally:
            self.post_message(GitFactsReady(facts, statuses))

    @while_open
    def on_git_facts_ready(self, message: GitFactsReady) -> None:
        self._git_running = False
        self.git_facts.update(message.facts)
        self._git_status.update(message.statuses)
        self.table.show_facts(self.git_facts)

    # ------------------------------------------------------------------ selection, titles

    @on(DataTable.RowHighlighted, "#agents")
    @while_open
    def row_highlighted(self) -> None:
        self.sync_selection()

    @on(DataTable.RowSelected, "#agents")
    def row_selected(self) -> None:
        self.action_details()

    @on(DataTable.HeaderSelected, "#agents")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.table.set_sort(str(event.column_key.value))
        self.update_titles()

    def sync_selection(self) -> None:
        """Point the log pane at the agent under the cursor."""
        agent_id = self.table.selected_id
        if agent_id == self.selected:
            return
        self.selected = agent_id
        agent = self.agents.get(agent_id) if agent_id else None
        self.selected_task = agent.task_id if agent else None
        self.log_pane.show(agent_id, self.sup.log_path(agent_id) if agent_id else None)
        if self.grid_mode:
            self.show_grid()
        self.update_titles()

    def update_titles(self) -> None:
        table = self.table
        shown = len(table.visible_ids)
        total = len(self.agents)
        title = f"Agents {shown}" if not table.query else f"Agents {shown}/{total} · filter: {table.query}"
        arrow = "▼" if table.reverse else "▲"
        table.border_title = Content(title)  # Content, not markup: user text may hold "["
        table.border_subtitle = f"sort: {table.sort_by} {arrow}"
        log = self.log_pane
        agent = self.agents.get(self.selected) if self.selected else None
        if agent is not None:
            log.border_title = Content(f"Log · {agent.id} · {one_line(agent.title, 60)}")
            log.border_subtitle = "" if log.log.following else "scrolled: End follows"
        elif self.ticks and not self.agents:
            log.border_title = "No agents yet: press n to spawn one"
        else:
            log.border_title = "Log"

    # ------------------------------------------------------------------ helpers

    def say(self, message: str, *, severity: str = "information", title: str = "") -> None:
        self.notify(message, title=title, severity=severity, markup=False)  # type: ignore[arg-type]

    def current_agent(self) -> Agent | None:
        agent_id = self.table.selected_id
        agent = self.agents.get(agent_id) if agent_id else None
        if agent is None:
            self.say("No agent selected (n spawns one).", severity="warning")
        return agent

    @contextmanager
    def engine_call(self, what: str, agent_id: str | None = None) -> Iterator[EngineChanged]:
        """Run one engine action in a worker: errors become notifications, then tick now."""
        outcome = EngineChanged(acted_on=agent_id)
        try:
            yield outcome
        except SupervisorError as exc:
            self.say(str(exc), severity="error", title=f"{what} failed")
        except Exception as exc:  # tmux/git/registry trouble: shown, the app lives on
            self.say(f"{type(exc).__name__}: {exc}", severity="error", title=f"{what} failed")
        finally:
            self.sup.registry.close()
            self.post_message(outcome)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_ACTIONS and len(self.screen_stack) > 1:
            return False  # a dialog or the detail view is up: its own keys apply
        if action == "quit" and isinstance(self.screen, ModalScreen):
            return False  # "q" belongs to the dialog's text fields; esc closes the dialog first
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return  # invoked over a dialog or the detail view: the main screen's actions do not apply
        commands = (
            ("Spawn an agent (n)", "Start an agent on a new worktree and branch", self.action_spawn),
            ("Fire the selected agent (f)", "Stop it with a reason; all its work is preserved", self.action_fire),
            ("Retry the selected agent (r)", "A new attempt from the files the last one left",
             self.action_retry),
            ("Retry fresh from base (R)", "A new attempt from the base commit", lambda: self.action_retry(True)),
            ("Send input (s)", "Type a line into the selected agent", self.action_send),
            ("Attach (a)", "Open the agent's tmux session; detach (ctrl-b d) to come back", self.action_attach),
            ("Remove (x)", "Clean up a finished agent; its branch and work are kept", self.action_remove),
            ("Details (i, enter)", "Prompt, attempts, fires, commits, diff stat", self.action_details),
            ("Diff (d)", "The selected agent's diff against base", self.action_diff),
            ("Grid (g)", "Up to six agents' logs side by side", self.action_grid),
            ("Filter (/)", "Show agents matching words or a status", self.action_filter),
            ("Sort (o)", "Cycle the table's sort order", self.action_sort),
            ("Metrics (m)", "Per profile: dispatched, done, failed, fired by reason, success rate, "
             "time to done, cost", self.action_metrics),
        )
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    # ------------------------------------------------------------------ spawn

    def action_spawn(self) -> None:
        self.open_spawn()

    def open_spawn(self, request: SpawnRequest | None = None, error: str = "") -> None:
        profiles = list(self.config.profiles)
        self.push_screen(SpawnScreen(profiles, self.config.default_profile, request=request, error=error,
                                     validate=self.validate_spawn), self.spawn_chosen)

    def validate_spawn(self, request: SpawnRequest) -> str:
        """The engine's own checks, before the dialog closes (config only: no tmux, no git)."""
        try:
            self.sup.validate_spawn(request.prompt, agent=request.agent, title=request.title or None,
                                    priority=request.priority)
        except SupervisorError as exc:
            return str(exc)
        return ""

    def spawn_chosen(self, request: SpawnRequest | None) -> None:
        if request is None:
            return
        self.spawn_worker(request)
        # The registry row exists within milliseconds; show it as "starting" while the
        # worktree is made instead of waiting for the next interval.
        self.set_timer(0.3, self.start_tick)

    @work(thread=True, exit_on_error=False, group="spawn")
    def spawn_worker(self, request: SpawnRequest) -> None:
        with self.engine_call("spawn") as outcome:
            try:
                agent = self.sup.spawn(request.prompt, agent=request.agent, title=request.title or None,
                                       priority=request.priority)
            except UsageError as exc:
                self.post_message(SpawnRejected(request, str(exc)))
                return
            outcome.select = agent.id
            reason = agent.queue_reason or agent.status_reason
            extra = f" ({reason})" if agent.status not in ACTIVE and reason else ""
            self.say(f"{agent.id} {agent.status}{extra}: {one_line(agent.title, 50)}",
                     title="spawned")

    # ------------------------------------------------------------------ fire

    def action_fire(self) -> None:
        agent = self.current_agent()
        if agent is None:
            return
        if agent.status == FIRED:
            self.say(f"{agent.id} was already fired (r retries it).", severity="warning")
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.table.busy[agent.id] = "firing"
                self.fire_worker(agent.id, *result)

        self.push_screen(FireScreen(agent), chosen)

    @work(thread=True, exit_on_error=False, group="fire")
    def fire_worker(self, agent_id: str, reason: str, note: str) -> None:
        with self.engine_call("fire", agent_id):
            agent = self.sup.fire(agent_id, reason, note)
            ref = agent.fires[-1].ref if agent.fires else None
            self.say(f"{agent.id} fired ({reason}); work preserved at {ref or '(nothing to preserve)'}; "
                     f"branch {agent.branch or '-'} kept", title="fired")

    # ------------------------------------------------------------------ retry, remove

    def action_retry(self, fresh: bool = False) -> None:
        agent = self.current_agent()
        if agent is None:
            return
        if agent.status in ACTIVE or agent.status in PENDING:
            self.say(f"{agent.id} is {agent.status}; only an ended agent can be retried (f fires it).",
                     severity="warning")
            return
        self.table.busy[agent.id] = "retrying"
        self.retry_worker(agent.id, fresh)
        self.set_timer(0.3, self.start_tick)

    @work(thread=True, exit_on_error=False, group="retry")
    def retry_worker(self, agent_id: str, fresh: bool) -> None:
        with self.engine_call("retry", agent_id) as outcome:
            agent = self.sup.retry(agent_id, fresh=fresh)
            outcome.select = agent.id
            how = "fresh from base" if fresh else "from its files"
            self.say(f"{agent_id} retried as {agent.id} (attempt {agent.attempt}, {how}): {agent.status}",
                     title="retry")

    def action_remove(self) -> None:
        agent = self.current_agent()
        if agent is None:
            return
        if agent.status in ACTIVE:
            self.say(f"{agent.id} is {agent.status}; fire it first (f).", severity="warning")
            return
        question = (f"{agent.id} · {one_line(agent.title, 60)} ({agent.status})\n\n"
                    "Its tmux session and worktree are removed. Its branch "
                    f"{agent.branch or '-'} and any uncommitted work (refs/jarvis/kept/{agent.id}) are kept.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.table.busy[agent.id] = "removing"
                self.remove_worker(agent.id)

        self.push_screen(ConfirmScreen(f"Remove {agent.id}?", question), answered)

    @work(thread=True, exit_on_error=False, group="remove")
    def remove_worker(self, agent_id: str) -> None:
        with self.engine_call("remove", agent_id):
            agent = self.sup.remove(agent_id)
            kept = f"; uncommitted work kept at {agent.preserved_ref}" if agent.preserved_ref else ""
            self.say(f"removed {agent.id}; branch {agent.branch or '-'} kept{kept}", title="removed")

    # ------------------------------------------------------------------ send, attach

    def action_send(self) -> None:
        agent = self.current_agent()
        if agent is None:
            return
        if agent.status not in RUNNING:
            self.say(f"{agent.id} is {agent.status}; only a running agent takes input.", severity="warning")
            return
        question = ""
        if agent.status_reason and agent.status_reason.startswith("asks: "):
            question = agent.status_reason[len("asks: "):]
        elif agent.id == self.selected and self.log_pane.partial:
            question = self.log_pane.partial

        def typed(text: str | None) -> None:
            if text is not None:
                self.send_worker(agent.id, text)

        self.push_screen(SendScreen(agent, question), typed)

    @work(thread=True, exit_on_error=False, group="send")
    def send_worker(self, agent_id: str, text: str) -> None:
        with self.engine_call("send"):
            self.sup.send(agent_id, text)
            self.say(f"sent {len(text)} character{'s' if len(text) != 1 else ''} to {agent_id}", title="sent")

    def action_attach(self) -> None:
        agent = self.current_agent()
        if agent is None:
            return
        if not agent.tmux_session or agent.status not in ACTIVE:
            self.say(f"{agent.id} is {agent.status} and has no tmux session; its log stays here.",
                     severity="warning")
            return
        self.attach_worker(agent)

    @work(thread=True, exit_on_error=False, group="attach")
    def attach_worker(self, agent: Agent) -> None:
        with self.engine_call("attach"):
            session = agent.tmux_session or ""
            if not self.sup.tmux.has_session(session):
                raise SupervisorError(f"{agent.id} has no live tmux session any more ({agent.status})")
            argv = self.sup.tmux.attach_argv(session)
            env = self.sup.tmux.attach_env()
            self.call_from_thread(self.attach_now, agent.id, argv, env)

    def attach_now(self, agent_id: str, argv: list[str], env: dict[str, str]) -> None:
        try:
            with self.suspend():
                print(f"jarvis: attaching to {agent_id}; detach with ctrl-b d to return to the dashboard",
                      flush=True)
                subprocess.run(argv, env=env, check=False)
        except SuspendNotSupported:
            self.say(f"this terminal cannot hand over to tmux; run: {shlex.join(argv)}", severity="error")

    # ------------------------------------------------------------------ views

    def action_details(self, diff: bool = False) -> None:
        agent = self.current_agent()
        if agent is None:
            return
        self.push_screen(DetailScreen(self.sup, agent, now=self.clock(), show_diff=diff))

    def action_diff(self) -> None:
        self.action_details(diff=True)

    def action_metrics(self) -> None:
        self.push_screen(MetricsScreen(self.sup))

    def action_grid(self) -> None:
        self.grid_mode = not self.grid_mode
        self.query_one("#body").set_class(self.grid_mode, "-grid")
        if self.grid_mode:
            self.show_grid()

    def show_grid(self) -> None:
        agents = [self.agents[i] for i in self.table.visible_ids if i in self.agents]
        self.query_one("#grid", LogGrid).show(agents, self.selected)

    def action_filter(self) -> None:
        box = self.query_one("#filter", FilterInput)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.table.set_query(event.value)
        self.update_titles()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#filter", FilterInput).display = False
        self.table.focus()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self.update_titles()

    async def action_quit(self) -> None:
        self.quit_now()

    def quit_now(self) -> None:
        self.exit(result=self.quit_message())

    def quit_message(self) -> str:
        if self.quit_note is not None:
            return self.quit_note
        agents = list(self.agents.values())
        running = sum(1 for a in agents if a.status in ACTIVE)
        queued = sum(1 for a in agents if a.status in PENDING)
        plural = "agent" if running == 1 else "agents"
        queue = f" ({queued} queued: they start when an engine runs, e.g. this dashboard)" if queued else ""
        return (f"{running} {plural} still running on tmux socket {self.sup.tmux.socket}{queue}; "
                f"reopen with `{self.cli}`, list with `{self.cli} ls`")
