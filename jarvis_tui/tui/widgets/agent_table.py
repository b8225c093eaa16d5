"""The agent table: one row per agent (the latest attempt of each task), sortable, filterable.

Rows are keyed by agent id. A refresh updates only the cells that changed, and rebuilds the
rows only when their set or order changes, keeping the cursor on the same agent: a table
redrawn every second must not jump under the user's hands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from ...engine.models import ACTIVE, STARTING, STATUSES, WAITING, Agent
from ...engine.resources import TreeUsage
from ...format import duration, one_line, size, status_style

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# Most useful first: at 80 columns the right-hand ones scroll off, not these.
COLUMNS: tuple[tuple[str, str, int], ...] = (  # key, label, width (0: computed)
    ("id", "ID", 6),
    ("status", "STATUS", 10),
    ("title", "TITLE", 0),
    ("runtime", "RUNTIME", 7),
    ("output", "LAST OUT", 8),
    ("cpu", "CPU", 5),
    ("rss", "RSS", 6),
    ("ahead", "AHEAD", 5),
    ("attempt", "#", 2),
    ("agent", "AGENT", 7),
    ("branch", "BRANCH", 0),
)
RIGHT = frozenset({"runtime", "output", "cpu", "rss", "ahead", "attempt"})
# Attention first: an agent asking a question outranks one that is busy.
STATUS_ORDER = {s: i for i, s in enumerate(("waiting", "working", "starting", "queued", "blocked",
                                             "failed", "fired", "done"))}
SORT_CYCLE = ("created", "status", "runtime", "output", "cpu", "rss")


@dataclass(frozen=True)
class GitFacts:
    ahead: int
    dirty: bool | None


@dataclass(frozen=True)
class RowData:
    agent: Agent
    usage: TreeUsage | None
    facts: GitFacts | None


def matches(agent: Agent, query: str) -> bool:
    """``/`` filter: every word must match. A status name (or ``status:NAME``) matches the
    status exactly; any other word is a substring of id, title, profile, branch or priority."""
    for word in query.lower().split():
        if word.startswith("status:"):
            if not agent.status.startswith(word[len("status:"):]):
                return False
        elif word in STATUSES:
            if agent.status != word:
                return False
        else:
            haystack = " ".join((agent.id, agent.task_id, agent.title, agent.agent, agent.branch or "",
                                 agent.priority, agent.status)).lower()
            if word not in haystack:
                return False
    return True


def sort_key(name: str, now: float) -> Callable[[RowData], Any]:
    def key(row: RowData) -> Any:
        a, u, f = row.agent, row.usage, row.facts
        if name == "status":
            return (STATUS_ORDER.get(a.status, 99), a.task_created_at or a.created_at, a.id)
        if name == "runtime":
            return (-(a.runtime(now) or -1), a.id)
        if name == "output":  # most recently heard from first; silent ones last
            return (-(a.last_output_at or 0), a.id)
        if name == "cpu":
            return (-(u.cpu if u else -1), a.id)
        if name == "rss":
            return (-(u.rss if u else -1), a.id)
        if name == "ahead":
            return (-(f.ahead if f else -1), a.id)
        if name == "attempt":
            return (-a.attempt, a.id)
        if name in ("id", "title", "agent", "branch"):
            return (str(getattr(a, name) or "").lower(), a.id)
        return (a.task_created_at or a.created_at, a.id)  # "created": a retried task keeps its place

    return key


def cell(value: str, style: str = "", *, right: bool = False) -> Text:
    return Text(value, style=style, justify="right" if right else "left", no_wrap=True, overflow="ellipsis")


class AgentTable(DataTable[Text]):
    """The agents, as the last engine tick saw them."""

    DEFAULT_CSS = """
    AgentTable > .datatable--header { text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=1)
        self.rows_data: dict[str, RowData] = {}
        self.facts: dict[str, GitFacts] = {}
        self.usage: dict[str, TreeUsage] = {}
        self.agents: list[Agent] = []
        self.now = 0.0
        self.query = ""
        self.sort_by = "created"
        self.reverse = False
        self.frame = 0
        self.busy: dict[str, str] = {}  # agent id -> action in flight ("firing", "retrying"...)
        self._order: list[str] = []
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._widths: tuple[int, int] | None = None

    # ------------------------------------------------------------------ data in

    def show_agents(self, agents: list[Agent], usage: dict[str, TreeUsage], now: float) -> None:
        self.agents = agents
        self.usage = usage
        self.now = now
        self.render_rows()

    def show_facts(self, facts: dict[str, GitFacts]) -> None:
        self.facts = facts
        self.render_rows()

    def set_query(self, query: str) -> None:
        self.query = query.strip()
        self.render_rows()

    def set_sort(self, name: str) -> None:
        if name == self.sort_by:
            self.reverse = not self.reverse
        else:
            self.sort_by, self.reverse = name, False
        self.render_rows()

    def cycle_sort(self) -> str:
        position = SORT_CYCLE.index(self.sort_by) if self.sort_by in SORT_CYCLE else -1
        self.sort_by, self.reverse = SORT_CYCLE[(position + 1) % len(SORT_CYCLE)], False
        self.render_rows()
        return self.sort_by

    # ------------------------------------------------------------------ data out

    @property
    def selected_id(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    @property
    def visible_ids(self) -> list[str]:
        return list(self._order)

    def select(self, agent_id: str) -> bool:
        if agent_id in self._order:
            self.move_cursor(row=self._order.index(agent_id), animate=False)
            return True
        return False

    # ------------------------------------------------------------------ rendering

    def on_resize(self, event: events.Resize) -> None:
        self.render_rows()

    def tick_spinner(self) -> None:
        """Advance the spinner of ``starting`` agents (only their status cells are touched)."""
        self.frame += 1
        for agent_id in self._order:
            row = self.rows_data.get(agent_id)
            if row is not None and (row.agent.status == STARTING or agent_id in self.busy):
                self.update_cell(agent_id, "status", self.status_cell(row.agent))

    def status_cell(self, agent: Agent) -> Text:
        style, symbol = status_style(agent.status)
        if agent.id in self.busy:
            return cell(f"{SPINNER[self.frame % len(SPINNER)]} {self.busy[agent.id]}", "italic")
        if agent.status == STARTING:
            symbol = SPINNER[self.frame % len(SPINNER)]
        if agent.status == WAITING:  # must stand out, in colour and in NO_COLOR alike
            return cell(f"{symbol} {agent.status}", f"{style} reverse")
        return cell(f"{symbol} {agent.status}", style)

    def column_widths(self, rows: list[RowData]) -> tuple[int, int]:
        """(title, branch) widths: what the fixed columns leave, the title first."""
        available = self.scrollable_content_region.width or 80
        fixed = sum(w for _, _, w in COLUMNS) + 2 * len(COLUMNS)
        spare = max(0, available - fixed)
        need_title = max(16, min(64, max((len(one_line(r.agent.title, 64)) for r in rows), default=0)))
        need_branch = max(6, min(48, max((len(r.agent.branch or "") for r in rows), default=0)))
        if spare >= need_title + need_branch:
            return need_title, need_branch
        title = max(16, min(need_title, spare - min(14, need_branch)))
        return title, max(min(14, need_branch), min(need_branch, spare - title))

    def row_cells(self, row: RowData, widths: tuple[int, int]) -> tuple[Text, ...]:
        a, u, f = row.agent, row.usage, row.facts
        active = a.status in ACTIVE
        quiet = "-"
        if active:
            last = a.last_output_at or a.started_at
            quiet = duration(self.now - last) if last else "-"
        cpu = f"{u.cpu:.0f}%" if (u is not None and active) else "-"
        rss = size(u.rss) if (u is not None and active) else "-"
        ahead = "-" if f is None else f"{f.ahead}{'*' if f.dirty else ''}"
        title_style = "bold" if a.status == WAITING else ""
        return (
            cell(a.id, "bold"),
            self.status_cell(a),
            cell(one_line(a.title, widths[0]), title_style),
            cell(duration(a.runtime(self.now)), right=True),
            cell(quiet, right=True),
            cell(cpu, right=True),
            cell(rss, right=True),
            cell(ahead, right=True),
            cell(str(a.attempt), right=True),
            cell(one_line(a.agent, 7)),
            cell(clip_middle(a.branch or "-", widths[1]), "dim"),
        )

    def render_rows(self) -> None:
        rows = [RowData(a, self.usage.get(a.id), self.facts.get(a.id)) for a in self.agents
                if not self.query or matches(a, self.query)]
        rows.sort(key=sort_key(self.sort_by, self.now), reverse=self.reverse)
        self.rows_data = {r.agent.id: r for r in rows}
        order = [r.agent.id for r in rows]
        selected = self.selected_id
        widths = self.column_widths(rows)
        if widths != self._widths:
            self._widths = widths
            self.clear(columns=True)
            for key, label, width in COLUMNS:
                if key == "title":
                    width = widths[0]
                elif key == "branch":
                    width = widths[1]
                self.add_column(Text(label, justify="right" if key in RIGHT else "left"), key=key,
                                width=width)
            self._order, self._cells = [], {}
        cells = {r.agent.id: self.row_cells(r, widths) for r in rows}
        if order == self._order:
            keys = [key for key, _, _ in COLUMNS]
            for agent_id in order:
                old = self._cells.get(agent_id, ())
                for index, value in enumerate(cells[agent_id]):
                    if index >= len(old) or _differs(old[index], value):
                        self.update_cell(agent_id, keys[index], value)
            self._cells = cells
            return
        self.clear()
        for agent_id in order:
            self.add_row(*cells[agent_id], key=agent_id)
        self._order = order
        self._cells = cells
        if selected in order:
            self.move_cursor(row=order.index(selected), animate=False)
        elif order:
            self.move_cursor(row=0, animate=False)


def clip_middle(text: str, width: int) -> str:
    """``jarvis/write-the-rel…-a1b2c3``: a branch's unique end survives the cut."""
    if len(text) <= width:
        return text
    tail = min(len(text) // 2, max(7, width // 3))
    return text[: max(0, width - tail - 1)] + "…" + text[-tail:]


def _differs(a: Text, b: Text) -> bool:
    return a.plain != b.plain or a.style != b.style
