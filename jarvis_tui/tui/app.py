"""The dashboard app: the engine poll, config reloads, git facts and what it tells the user.

A second face over the engine, like the CLI: it shows what :class:`EngineLoop` observes and
acts through :class:`Supervisor` (see screens/main.py, engine_calls.py), never keeping its own
idea of an agent's state.

Threads (NOTES.md: a tmux or git call must never freeze the screen):

- the poll: a thread worker runs ``loop.tick()`` and posts the result; the next tick is
  scheduled only when that one has finished, so slow ticks never pile up (dolphie style).
  Before each tick it stats config.toml and, if it changed, reads it again;
- git facts for the table (commits ahead, dirty) are polled every few seconds, not per tick;
- actions run in thread workers (engine_calls.py); each log pane reads its file in a short
  worker, only while it is on screen.

Quitting leaves the agents running in tmux; reopening shows them as they are.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer

from ..describe import check_message
from ..engine.config import Config
from ..engine.config_watch import ConfigWatch
from ..engine.git.facts import FleetFacts
from ..engine.models import ACTIVE, DONE, FAILED, FIRED, PENDING, WAITING, Agent
from ..engine.resources import SystemReading
from ..engine.supervisor import Supervisor
from ..format import one_line
from .actions import palette_entries
from .messages import ConfigChanged, EngineChanged, GitFactsReady, Ticked, TickFailed
from .screens.main import MainScreen
from .widgets.agent_table import AgentTable
from .widgets.gauge import ResourceGauge
from .widgets.log_pane import LogPane

if TYPE_CHECKING:  # the loop's machinery is imported by the first tick, after the first paint
    from ..engine.loop import EngineLoop, TickResult
    from ..engine.overseer import Action


class JarvisApp(App[str]):
    """The dashboard over one :class:`Supervisor` (inject ``loop``/clock/readings in tests)."""

    CSS_PATH = "app.tcss"
    TITLE = "jarvis"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (125, "-wide")]  # screen classes (toast width)
    BINDINGS = [  # the keys panel (palette: "Keys") is closed by esc, like every other panel here
        Binding("escape", "hide_help_panel", "Close the keys panel", show=False, priority=True),
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
        self._engine_loop = loop
        self._readings = readings
        self.clock = sup.clock
        self.interval = interval
        self.git_interval = git_interval
        self.cli = cli
        self.quit_note = quit_note
        self.agents: dict[str, Agent] = {}
        self.statuses: dict[str, str] | None = None  # each agent's status at the last tick (None: no tick yet)
        self.checks_seen: dict[str, tuple[str | None, float | None]] | None = None  # check state, start: last tick
        self.ticks = 0
        self.fleet_facts = FleetFacts(sup.repo)  # the table's git columns (engine.git.facts)
        self.git_facts = self.fleet_facts.facts  # one dict: git polls update it, the table reads it
        self.last_error = ""
        self.config_error = ""
        self.config_watch = ConfigWatch(sup.config.path)
        self._reload_asked = False
        self._ticking = False
        self._tick_again = False
        self._tick_timer: Timer | None = None
        self._git_running = False
        self._git_last = float("-inf")

    @property
    def loop(self) -> EngineLoop:
        """The engine loop, made by the first tick (in the poll worker): the rows on the first
        paint come from the registry alone, so the loop's machinery (overseer, usage,
        transcripts, checks) is imported after it, off the UI thread."""
        if self._engine_loop is None:
            from ..engine.loop import EngineLoop

            self._engine_loop = EngineLoop(self.sup, readings=self._readings)
        return self._engine_loop

    @loop.setter
    def loop(self, loop: EngineLoop) -> None:  # tests swap in a loop of their own
        self._engine_loop = loop

    def close_loop(self) -> None:
        """Give the engine lease up, if a tick ever made the loop (quitting before the first
        tick makes none, and imports nothing, just to close it)."""
        if self._engine_loop is not None:
            self._engine_loop.close()

    @property
    def config(self) -> Config:
        return self.sup.config  # the one in use: a reload replaces it

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0] if self.screen_stack else None
        if not isinstance(screen, MainScreen):
            raise NoMatches("the main screen is gone")
        return screen

    # The main screen's widgets, wherever the user is (tests and the poll use them).
    @property
    def table(self) -> AgentTable:
        return self.main.table

    @property
    def log_pane(self) -> LogPane:
        return self.main.log_pane

    @property
    def gauge(self) -> ResourceGauge:
        return self.main.gauge

    @property
    def closing_down(self) -> bool:
        # not is_running: shutting down without exit() (run_test, a crash) prunes the screens'
        # widgets while worker results are still being delivered.
        return bool(
            self._exit
            or not self.is_running
            or self._closing
            or self._closed
            or not self.screen_stack
            or not self.screen_stack[0].is_attached
        )

    def on_mount(self) -> None:
        # (The first tick starts when the main screen is on: MainScreen.on_mount.)
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
            self.check_config()
            result = self.loop.tick()
        except Exception as exc:  # noqa: BLE001 - tmux gone, registry locked, disk full...: shown, retried
            self.post_message(TickFailed(str(exc) or type(exc).__name__))
        else:
            self.post_message(Ticked(result))
        finally:
            self.sup.registry.park()  # this thread's connection goes on to the next tick's thread

    def check_config(self) -> None:
        """(In the poll worker.) config.toml changed, or ctrl+r: read it and hand it to the engine."""
        asked, self._reload_asked = self._reload_asked, False
        change = self.config_watch.apply(self.sup, force=asked)
        if change is not None:
            self.post_message(ConfigChanged(*change, asked=asked))

    def reload_config(self) -> None:
        self._reload_asked = True
        self.start_tick()

    def schedule_tick(self) -> None:
        self._ticking = False
        again, self._tick_again = self._tick_again, False
        if again:  # an action asked for fresh data while that tick ran
            self.call_later(self.start_tick)
        else:
            self._tick_timer = self.set_timer(self.interval, self.start_tick)

    def on_ticked(self, message: Ticked) -> None:
        try:
            if not self.closing_down:
                self.show_tick(message.result)
        except NoMatches:
            if not self.closing_down:
                raise
        except Exception as exc:  # noqa: BLE001 - a display bug must not stop the poll: say it, carry on
            self.say(f"{type(exc).__name__}: {exc}", severity="error", title="dashboard error")
        finally:
            self.schedule_tick()

    def show_tick(self, result: TickResult) -> None:
        self.ticks += 1
        self.agents = {a.id: a for a in result.agents}
        self.last_error = ""
        self.main.show_tick(result)
        self.announce(result.changed)
        self.announce_waiting(result)
        self.announce_actions(result.actions)
        self.announce_checks(result.agents)
        self.poll_git(result.agents)

    def on_tick_failed(self, message: TickFailed) -> None:
        try:
            if not self.closing_down:
                self.gauge.show_error(message.error)
                if message.error != self.last_error:
                    self.last_error = message.error
                    self.say(message.error, title="engine poll failed (retrying)", severity="error")
        finally:
            self.schedule_tick()

    def on_config_changed(self, message: ConfigChanged) -> None:
        if self.closing_down:
            return
        if message.config is None:
            self.config_error = message.error
            self.say(
                message.error,
                title="config.toml refused (the last good one stays in use)",
                severity="error",
                timeout=15,
            )
        else:
            self.config_error = ""
            self.gauge.configure(message.config.resources, message.config.supervisor.max_agents)
            config = message.config
            self.say(
                f"max_agents {config.supervisor.max_agents}, {len(config.profiles)} profiles",
                title="config.toml read again",
            )
        self.gauge.config_error = bool(self.config_error)

    def on_engine_changed(self, message: EngineChanged) -> None:
        if self.closing_down:
            return
        if message.select:
            self.main.want_select = message.select
        if message.acted_on:
            self.table.busy.pop(message.acted_on, None)
        self.start_tick()

    # ------------------------------------------------------------------ telling the user

    def say(
        self, message: str, *, severity: str = "information", title: str = "", timeout: float | None = None
    ) -> None:
        self.notify(message, title=title, severity=severity, markup=False, timeout=timeout)  # type: ignore[arg-type]

    def announce(self, changed: Iterable[Agent]) -> None:
        for agent in changed:
            if agent.id in self.table.busy:  # our own fire/rm in flight: its result is announced
                continue
            title = one_line(agent.title, 40)
            if agent.status == FAILED:  # (waiting: announce_waiting)
                self.say(f"{agent.id} {title}: {agent.status_reason or 'failed'}", title="failed", severity="error")
            elif agent.status == DONE:
                self.say(f"{agent.id} {title}", title="done")
            elif agent.status == FIRED:
                self.say(f"{agent.id} {title}: {agent.status_reason}", title="fired", severity="error")

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
        started = [
            a
            for a in result.agents
            if a.status == WAITING
            and a.id not in self.table.busy
            and (a.id in changed if previous is None else previous.get(a.id) != WAITING)
        ]
        for agent in started:
            self.say(
                f"{agent.id} is waiting: {agent.status_reason or 'for input'} (s answers)",
                title="waiting for you",
                severity="warning",
            )
        if started and previous is not None:
            self.bell()

    def announce_checks(self, agents: list[Agent]) -> None:
        """A check that ended since the last tick (a quick one may start and end between two:
        its start time tells it apart): passed, or failed and where its output is."""
        previous, self.checks_seen = self.checks_seen, {a.id: (a.check_state, a.check_at) for a in agents}
        for agent in agents:
            seen = previous.get(agent.id) if previous is not None else None
            if seen is not None and seen != self.checks_seen[agent.id] and agent.check_state in ("passed", "failed"):
                failed = agent.check_state == "failed"
                from ..engine import checks

                self.say(
                    check_message(agent, str(checks.log_path(self.sup, agent.id))),
                    title="check",
                    severity="error" if failed else "information",
                    timeout=15 if failed else None,
                )

    def announce_actions(self, actions: Iterable[Action]) -> None:
        """The engine's own decisions this tick (automatic retries, policy fires...)."""
        severities = {
            "fire": "error",
            "error": "error",
            "retry_exhausted": "error",
            "retry": "warning",
            "stalled": "warning",
        }
        for action in actions:
            self.say(
                f"{action.agent_id}: {action.note}",
                title=f"engine: {action.kind.replace('_', ' ')}",
                severity=severities.get(action.kind, "information"),
            )

    # ------------------------------------------------------------------ git facts

    def poll_git(self, agents: list[Agent]) -> None:
        if self.git_interval is None or self._git_running:
            return  # (the worker owns the facts while it runs)
        self.fleet_facts.forget(a.id for a in agents)  # removed agents and earlier attempts leave the table
        now = time.monotonic()
        if now - self._git_last < self.git_interval:
            return
        todo = self.fleet_facts.due(agents)
        if not todo:
            return
        self._git_running = True
        self._git_last = now
        self.git_worker(todo)

    @work(thread=True, exit_on_error=False, group="git")
    def git_worker(self, agents: list[Agent]) -> None:
        """Git only (the table's two git columns): no registry here."""
        try:
            self.fleet_facts.read(agents)
        finally:
            self.post_message(GitFactsReady())

    def on_git_facts_ready(self, message: GitFactsReady) -> None:
        self._git_running = False
        if not self.closing_down:
            self.table.show_facts(self.git_facts)

    # ------------------------------------------------------------------ palette, panel, quit

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from .screens.review import ReviewScreen  # late: opened on demand

        yield from super().get_system_commands(screen)
        if isinstance(screen, ReviewScreen):
            entries = palette_entries(("review",))
        elif isinstance(screen, MainScreen):
            entries = palette_entries()
        else:
            return  # over a dialog or the detail view the main screen's actions do not apply
        for entry in entries:
            # Straight to the action method, not through check_action: a refused action then
            # says why (the method asks the engine's rules) instead of doing nothing.
            _, name, params = parse_action(entry.action.removeprefix("screen."))
            yield SystemCommand(entry.palette_title, entry.help, partial(getattr(screen, f"action_{name}"), *params))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hide_help_panel":
            return bool(self.screen.query("HelpPanel"))  # else esc belongs to the screen
        return True

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
        return (
            f"{running} {plural} still running on tmux socket {self.sup.tmux.socket}{queue}; "
            f"reopen with `{self.cli}`, list with `{self.cli} ls`"
        )
