"""The main screen: the gauge, the agent table, the selected agent's log (or the grid), the keys.

Its keys come from :mod:`..actions`. Every per-agent key asks the engine's own rules
(:func:`jarvis_tui.engine.lifecycle.allowed`) about the selected agent: the footer dims a key
that would be refused, and pressing it anyway says why instead of doing anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Header, Input

from ...describe import orchestrators_line, queue_line, remove_question
from ...engine import presets
from ...engine.lifecycle import Action, allowed
from ...engine.models import Agent, Orchestrator
from ...format import one_line
from ..actions import ENGINE_ROWS, KeyAction, bindings, by_key, by_name, refusal
from ..engine_calls import EngineCalls
from ..messages import SpawnRejected
from ..widgets.agent_table import AgentTable
from ..widgets.footer import KeysFooter
from ..widgets.gauge import ResourceGauge
from ..widgets.grid import LogGrid
from ..widgets.log_pane import LogPane

if TYPE_CHECKING:  # the dialogs and views are imported when first opened: a faster first paint
    from ...engine.loop import TickResult
    from ..app import JarvisApp
    from .spawn import SpawnRequest

WIDE = 110  # columns from which the header says more


class FilterInput(Input):
    """The ``/`` filter line: ``enter`` keeps the filter, ``escape`` clears it."""

    BINDINGS = [Binding("escape", "clear", "Clear filter", show=False)]

    def action_clear(self) -> None:
        self.screen.action_clear_filter()  # type: ignore[attr-defined]


class MainScreen(Screen[None]):
    BINDINGS = bindings("screen")

    def __init__(self) -> None:
        super().__init__()
        self.calls = EngineCalls(self)
        self.selected: str | None = None
        self.selected_task: str | None = None
        self.want_select: str | None = None
        self.grid_mode = False
        self._rules_seen: tuple[object, ...] | None = None
        self._borders: dict[tuple[str | None, str], str] = {}  # (widget id, title|subtitle) -> text shown
        self.orchestrators: list[Orchestrator] = []  # connected through `jarvis mcp`, at the last tick

    @property
    def jarvis(self) -> JarvisApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        app = self.jarvis
        yield Header()
        yield ResourceGauge(app.config.resources, app.config.supervisor.max_agents, id="gauge")
        yield FilterInput(
            placeholder="filter: words, or a status (waiting, failed…) · enter keep · esc clear",
            id="filter",
            compact=True,
        )
        with Vertical(id="body"):
            yield AgentTable(id="agents")
            yield LogPane(id="log")
            yield LogGrid(app.sup.log_path, id="grid")
        yield KeysFooter()

    @property
    def table(self) -> AgentTable:
        return self.query_one("#agents", AgentTable)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one("#log", LogPane)

    @property
    def gauge(self) -> ResourceGauge:
        return self.query_one("#gauge", ResourceGauge)

    @property
    def filter_box(self) -> FilterInput:
        return self.query_one("#filter", FilterInput)

    def on_mount(self) -> None:
        self.filter_box.display = False
        self.table.facts = self.jarvis.git_facts  # one dict: git polls update it, the table reads it
        self.table.focus()
        self.set_interval(0.12, self.table.tick_spinner)
        self.show_registry()
        self.update_titles()
        self.call_after_refresh(self.jarvis.start_tick)  # the first tick, once every widget is there

    def show_registry(self) -> None:
        """The rows as the registry has them, before the first tick (tmux, /proc) comes back:
        the first paint shows the agents at once. One SQLite read (WAL: never blocked by writers)."""
        try:
            agents = self.jarvis.sup.agents()
        except Exception:  # noqa: BLE001 - the first tick reports what is wrong, on screen
            return
        self.jarvis.agents = {a.id: a for a in agents}
        self.table.show_agents(agents, {}, self.jarvis.clock())

    def on_resize(self, event: events.Resize) -> None:
        self.update_sub_title(event.size.width)

    def update_sub_title(self, width: int | None = None) -> None:
        """Where this is, and the orchestrators driving it through `jarvis mcp` (beside their workers)."""
        app = self.jarvis
        width = width if width is not None else self.size.width
        where = f"{app.sup.repo.name} · tmux -L {app.sup.tmux.socket}"
        if self.orchestrators:
            app.sub_title = where + " · " + orchestrators_line(self.orchestrators, app.clock(), short=width < WIDE)
        else:
            app.sub_title = where + (" · agents keep running when you quit" if width >= WIDE else "")

    # ------------------------------------------------------------------ a tick

    def show_tick(self, result: TickResult) -> None:
        if result.orchestrators or self.orchestrators:
            self.orchestrators = result.orchestrators
            self.update_sub_title()
        note = "" if result.leader else "observing: another engine process leads"
        budgets = self.jarvis.config.budgets
        spent = sum(result.spent_today.values()) if result.spent_today is not None else None
        self.gauge.show(
            result.reading, result.agents, note=note, spent=spent, daily=budgets.daily, warn_at=budgets.warn_at
        )
        self.table.show_agents(result.agents, result.usage, self.jarvis.clock())
        self.follow_selection()
        self.sync_selection()
        if self.grid_mode:
            self.show_grid()
        self.update_titles()
        self.refresh_rules()  # the selected agent may have changed status: dim what it refuses

    def follow_selection(self) -> None:
        """Keep the cursor on the agent the user chose, or on the new attempt of its task."""
        table = self.table
        if self.want_select and table.select(self.want_select):
            self.want_select = None
            return
        agents = self.jarvis.agents
        if self.selected and self.selected not in table.visible_ids and self.selected_task:
            for agent_id in table.visible_ids:
                if agents[agent_id].task_id == self.selected_task:
                    table.select(agent_id)
                    return

    @on(DataTable.RowHighlighted, "#agents")
    def row_highlighted(self) -> None:
        self.sync_selection()
        self.refresh_rules()

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
        agent = self.jarvis.agents.get(agent_id) if agent_id else None
        self.selected_task = agent.task_id if agent else None
        self.log_pane.show(agent_id, self.jarvis.sup.log_path(agent_id) if agent_id else None)
        if self.grid_mode:
            self.show_grid()
        self.update_titles()

    def update_titles(self) -> None:
        table = self.table
        shown = len(table.visible_ids)
        agents = self.jarvis.agents
        title = (
            f"Agents {shown}"
            if not table.filter_text
            else f"Agents {shown}/{len(agents)} · filter: {table.filter_text}"
        )
        self.set_border(table, "title", title)
        self.set_border(table, "subtitle", f"sort: {table.sort_label}")
        log = self.log_pane
        agent = agents.get(self.selected) if self.selected else None
        if agent is not None:
            self.set_border(log, "title", f"Log · {agent.id} · {one_line(agent.title, 60)}")
            log.set_note(queue_line(agent, self.jarvis.clock()))
        elif self.jarvis.ticks and not agents:
            self.set_border(log, "title", "No agents yet: press n to spawn one")
        elif table.filter_text and not shown:
            self.set_border(
                log, "title", f"No agent matches “{one_line(table.filter_text, 30)}”: esc clears the filter"
            )
        else:
            self.set_border(log, "title", "Log")

    def set_border(self, widget: Widget, which: str, text: str) -> None:
        """A border's title or subtitle, set only when its text changed: Textual repaints the
        whole widget at every set (the table and the log pane, every tick). As Content, not
        markup: user text may hold "["."""
        key = (widget.id, which)
        if self._borders.get(key) == text:
            return
        self._borders[key] = text
        if which == "title":
            widget.border_title = Content(text)
        else:
            widget.border_subtitle = Content(text)

    # ------------------------------------------------------------------ the engine's rules

    def current_agent(self, *, quiet: bool = False) -> Agent | None:
        agent_id = self.table.selected_id
        agent = self.jarvis.agents.get(agent_id) if agent_id else None
        if agent is None and not quiet:
            self.jarvis.say("No agent selected (n spawns one).", severity="warning")
        return agent

    def refusal(self, row: KeyAction) -> str | None:
        """Why the selected agent cannot have ``row`` done to it now (None: it can)."""
        return refusal(row, self.current_agent(quiet=True))

    def target(self, rule: Action, *, force: bool = False) -> Agent | None:
        """The selected agent if the engine allows ``rule`` on it; else say why and return None."""
        agent = self.current_agent()
        if agent is None:
            return None
        why = allowed(agent, rule, force_ended=force)
        if why:
            self.jarvis.say(why, severity="warning")
            return None
        return agent

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.table.filter_text) or self.filter_box.display  # else esc is not ours
        row = by_name(action)
        if row is not None and row.engine is not None and self.refusal(row):
            return None  # shown dimmed; pressing it says why (on_key)
        return True

    def on_key(self, event: events.Key) -> None:
        """A dimmed key pressed: Textual would drop it silently; say why instead. (Keys reach
        the screen before its bindings run; a text field keeps the letters typed into it.)"""
        row = by_key(event.key)
        if row is not None and row.engine is not None:
            why = self.refusal(row)
            if why:
                event.stop()
                self.jarvis.say(why, severity="warning")

    def refresh_rules(self) -> None:
        """Re-dim the footer if what the engine allows for the selected agent changed (not every
        tick: a footer refresh rebuilds its keys)."""
        agent = self.current_agent(quiet=True)
        # What is allowed, not which agent: moving between two working agents dims nothing
        # new, and a footer rebuild would cost a whole layout per key press.
        seen = tuple(refusal(row, agent) is None for row in ENGINE_ROWS)
        if seen != self._rules_seen:
            self._rules_seen = seen
            self.refresh_bindings()

    # ------------------------------------------------------------------ agent actions

    def action_spawn(self, request: SpawnRequest | None = None, error: str = "") -> None:
        from .spawn import SpawnScreen

        config = self.jarvis.sup.config
        self.app.push_screen(
            SpawnScreen(
                list(config.profiles),
                config.default_profile,
                request=request,
                error=error,
                validate=self.validate_spawn,
                unavailable=presets.unavailable(config),
            ),
            self.spawn_chosen,
        )

    def on_spawn_rejected(self, message: SpawnRejected) -> None:
        self.action_spawn(message.request, message.error)

    def validate_spawn(self, request: SpawnRequest) -> str:
        """The engine's own checks, before the dialog closes (config only: no tmux, no git)."""
        try:
            self.jarvis.sup.validate_spawn(request.prompt, **request.options())
        except Exception as exc:  # noqa: BLE001 - any refusal is shown in the dialog
            return str(exc)
        return ""

    def spawn_chosen(self, request: SpawnRequest | None) -> None:
        if request is not None:
            self.calls.spawn(request)
            # The registry row exists within milliseconds: show it as "starting" at once.
            self.set_timer(0.3, self.jarvis.start_tick)

    def action_fire(self) -> None:
        from .fire import FireScreen

        agent = self.target(Action.FIRE)
        if agent is None:
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.table.busy[agent.id] = "firing"
                self.calls.fire(agent.id, *result)

        self.app.push_screen(FireScreen(agent), chosen)

    def action_retry(self, fresh: bool = False) -> None:
        agent = self.target(Action.RETRY)
        if agent is not None:
            self.table.busy[agent.id] = "retrying"
            self.calls.retry(agent.id, fresh)
            self.set_timer(0.3, self.jarvis.start_tick)

    def action_release(self) -> None:
        agent = self.target(Action.RELEASE)
        if agent is not None:
            self.table.busy[agent.id] = "releasing"
            self.calls.release(agent.id)

    def action_remove(self) -> None:
        from .confirm import ConfirmScreen

        agent = self.target(Action.REMOVE)
        if agent is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.table.busy[agent.id] = "removing"
                self.calls.remove(agent.id)

        self.app.push_screen(ConfirmScreen(f"Remove {agent.id}?", remove_question(agent)), answered)

    def action_send(self) -> None:
        from .send import SendScreen

        agent = self.target(Action.SEND)
        if agent is None:
            return
        question = ""
        if agent.status_reason and agent.status_reason.startswith("asks: "):
            question = agent.status_reason[len("asks: ") :]
        elif agent.id == self.selected and self.log_pane.partial:
            question = self.log_pane.partial

        def typed(text: str | None) -> None:
            if text is not None:
                self.calls.send(agent.id, text)

        self.app.push_screen(SendScreen(agent, question), typed)

    def action_attach(self) -> None:
        agent = self.target(Action.ATTACH)
        if agent is not None:
            self.calls.attach(agent)

    def action_check(self) -> None:
        if agent := self.target(Action.CHECK):
            self.calls.check(agent.id)

    def action_merge(self) -> None:
        if agent := self.target(Action.MERGE, force=True):  # a failed one: the dialog asks to confirm
            self.calls.open_merge(agent, None)

    # ------------------------------------------------------------------ views

    def action_review(self) -> None:
        from .review import ReviewScreen

        if agent := self.target(Action.REVIEW):
            self.app.push_screen(ReviewScreen(self.jarvis.sup, agent, cli=self.jarvis.cli))

    def action_details(self, diff: bool = False) -> None:
        from .detail import DetailScreen

        agent = self.target(Action.DETAILS)
        if agent is not None:
            self.app.push_screen(DetailScreen(self.jarvis.sup, agent, now=self.jarvis.clock(), show_diff=diff))

    def action_diff(self) -> None:
        self.action_details(diff=True)

    def action_metrics(self) -> None:
        from .metrics import MetricsScreen

        self.app.push_screen(MetricsScreen(self.jarvis.sup))

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_grid(self) -> None:
        self.grid_mode = not self.grid_mode
        self.query_one("#body").set_class(self.grid_mode, "-grid")
        if self.grid_mode:
            self.show_grid()

    def show_grid(self) -> None:
        agents = self.jarvis.agents
        shown = [agents[i] for i in self.table.visible_ids if i in agents]
        self.query_one("#grid", LogGrid).show(shown, self.selected)

    def action_follow_log(self) -> None:
        self.log_pane.follow()
        for pane in self.query_one("#grid", LogGrid).panes.values():
            pane.follow()

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.filter_box
        box.value = ""
        box.display = False
        self.table.set_query("")
        self.table.focus()
        self.sync_selection()
        self.update_titles()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.table.set_query(event.value)
        self.sync_selection()  # the filter may hide the selected agent: its log goes with it
        self.update_titles()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.filter_box.display = False
        self.table.focus()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self.update_titles()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self.update_titles()

    def action_reload_config(self) -> None:
        self.jarvis.reload_config()

    def action_quit(self) -> None:
        self.jarvis.quit_now()
