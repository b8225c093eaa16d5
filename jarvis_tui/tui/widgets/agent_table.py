"""The agent table: one row per agent (the latest attempt of each task), sortable, filterable.

Rows are keyed by agent id. A refresh updates only the cells that changed, and rebuilds the
rows only when their set, order or columns change, keeping the cursor on the same agent: a
table redrawn every second must not jump under the user's hands.

Columns that do not fit are dropped, least useful first (never scrolled sideways: a
horizontal scrollbar would cost a row and hide the id), and the title takes what is left.
The marker column (⚑: overlaps, out of scope, the check's ✓ ✗) is there only while some
agent has a mark, as wide as the most marks, and it is the first to come after the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events

from ...describe import cost_short, marks, queue_short
from ...engine.git.facts import GitFacts
from ...engine.models import ACTIVE, PENDING, STARTING, STATUSES, WAITING, Agent
from ...engine.resources import TreeUsage
from ...format import age, one_line, size, status_style
from ..actions import bindings
from ..verdicts import marks_text
from .row_table import RowCachedTable

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
PAD = 2  # cell_padding=1 on each side


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # fixed width; the title and the branch are sized from what is left
    right: bool = False


COLUMNS = {
    c.key: c
    for c in (  # in screen order
        Column("id", "ID", 6),
        Column("status", "STATUS", 10),
        Column("marks", "⚑", 1),
        Column("title", "TITLE", 0),
        Column("runtime", "RUNTIME", 7, True),
        Column("output", "LAST OUT", 8, True),
        Column("cpu", "CPU", 5, True),
        Column("rss", "RSS", 6, True),
        Column("ahead", "AHEAD", 5, True),
        Column("attempt", "#", 2, True),
        Column("agent", "AGENT", 7),
        Column("branch", "BRANCH", 0),
        Column("cost", "COST", 7, True),  # (last on screen: money at the right edge, like jarvis ls)
    )
}
MUST = ("id", "status", "title")  # always shown
# then these, in this order, while they fit (cost before memory: what a team pays for comes first
# once the basics fit; at 80 columns neither does)
FIRST = ("marks", "runtime", "output", "ahead", "cpu", "cost", "rss")
THEN = ("agent", "attempt", "branch")  # once the title has what it needs
TITLE_MIN, TITLE_WANT, BRANCH_MIN = 24, 40, 14
# Attention first: an agent asking a question outranks one that is busy.
STATUS_ORDER = {
    s: i
    for i, s in enumerate(
        ("waiting", "working", "starting", "queued", "blocked", "failed", "fired", "done", "merged", "held")
    )
}
SORT_CYCLE = ("created", "status", "runtime", "output", "cpu", "rss", "cost")
BIGGEST_FIRST = frozenset({"runtime", "cpu", "rss", "cost", "ahead", "attempt", "marks"})  # their first press sorts ▼


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
            if not agent.status.startswith(word[len("status:") :]):
                return False
        elif word in STATUSES:
            if agent.status != word:
                return False
        else:
            haystack = " ".join(
                (
                    agent.id,
                    agent.task_id,
                    agent.title,
                    agent.agent,
                    agent.branch or "",
                    agent.priority,
                    agent.status,
                    agent.ticket or "",
                )
            ).lower()
            if word not in haystack:
                return False
    return True


def sort_value(name: str, row: RowData, now: float) -> Any:
    """The value a column shows, as sortable data (None: the cell shows "-", sorted last)."""
    a, u, f = row.agent, row.usage, row.facts
    active = a.status in ACTIVE
    if name == "status":
        return STATUS_ORDER.get(a.status, 99)
    if name == "runtime":
        return a.runtime(now)
    if name == "output":  # seconds since it was last heard from: the most recent first
        last = a.last_output_at or a.started_at
        return now - last if (active and last) else None
    if name in ("cpu", "rss"):
        return getattr(u, name) if (u is not None and active) else None
    if name == "ahead":
        return f.ahead if f is not None else None
    if name == "cost":
        return a.cost_usd
    if name == "attempt":
        return a.attempt
    if name == "marks":  # a failed check first, then the most marks
        found = marks(a)
        return ("failed" in found, len(found)) if found else None
    if name in ("id", "title", "agent", "branch"):
        value = getattr(a, name)
        return str(value).lower() if value else None
    return a.task_created_at or a.created_at  # "created": a retried task keeps its place


def sort_rows(rows: list[RowData], name: str, descending: bool, now: float) -> list[RowData]:
    """Sorted by ``name``; ties keep creation order and rows without a value go last, either way."""
    rows = sorted(rows, key=lambda r: (r.agent.task_created_at or r.agent.created_at, r.agent.id))
    present = [r for r in rows if sort_value(name, r, now) is not None]
    present.sort(key=lambda r: sort_value(name, r, now), reverse=descending)
    return present + [r for r in rows if sort_value(name, r, now) is None]


def layout(available: int, rows: list[RowData], now: float) -> dict[str, int]:
    """Which columns are shown and how wide: {key: width}, in screen order."""
    need_title = max(
        (
            len(one_line(r.agent.title, 64))
            + len(f" · {queue_short(r.agent, now)}" if r.agent.status in PENDING else "")
            + (len(r.agent.ticket) + 1 if r.agent.ticket else 0)
            for r in rows
        ),
        default=0,
    )
    need_branch = max((len(r.agent.branch or "") for r in rows), default=0)
    widths = {key: COLUMNS[key].width for key in MUST}
    widths["title"] = TITLE_MIN
    used = sum(w + PAD for w in widths.values())

    def add(key: str, width: int) -> bool:
        nonlocal used
        if used + width + PAD > available:
            return False
        widths[key] = width
        used += width + PAD
        return True

    need_marks = max((len(marks(r.agent)) for r in rows), default=0)  # the column only when there are any
    for key in FIRST:
        if key == "marks":
            if need_marks and not add(key, need_marks):
                break
            continue
        if not add(key, COLUMNS[key].width):
            break
    else:
        grow = min(max(0, min(TITLE_WANT, need_title) - TITLE_MIN), available - used)
        widths["title"] += grow
        used += grow
        for key in THEN:
            width = COLUMNS[key].width if key != "branch" else min(max(BRANCH_MIN, need_branch), 48)
            if not add(key, width) and not (key == "branch" and add(key, BRANCH_MIN)):
                break
    spare = max(0, available - used)
    if "branch" in widths:  # a branch name is only useful whole: it goes first
        grow = min(spare, max(0, min(48, need_branch) - widths["branch"]))
        widths["branch"] += grow
        spare -= grow
    widths["title"] += min(spare, max(0, min(64, need_title) - widths["title"]))
    return {key: widths[key] for key in COLUMNS if key in widths}


def cell(value: str | Text, style: str = "", *, right: bool = False) -> Text:
    text = value if isinstance(value, Text) else Text(value, style=style)
    text.justify = "right" if right else "left"
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


TIMED = frozenset({"runtime", "output"})  # columns that change with the clock alone


def timed_cell(seconds: float | None) -> Text:
    """RUNTIME and LAST OUT at minute resolution after the first minute (:func:`age`): the
    clock alone changes a row once a minute, not every second (sorting stays exact)."""
    return cell(age(seconds) if seconds is not None else "-", right=True)


class AgentTable(RowCachedTable):
    """The agents, as the last engine tick saw them."""

    DEFAULT_CSS = """
    AgentTable { overflow-x: hidden; }
    AgentTable > .datatable--header { text-style: bold; }
    """
    BINDINGS = bindings("table")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=1)
        self.rows_data: dict[str, RowData] = {}
        self.facts: dict[str, GitFacts] = {}
        self.usage: dict[str, TreeUsage] = {}
        self.agents: list[Agent] = []
        self.now = 0.0
        self.filter_text = ""  # (not "query": that is every widget's DOM query method)
        self.sort_by = "created"
        self.descending = False
        self.frame = 0
        self.busy: dict[str, str] = {}  # agent id -> action in flight ("firing", "retrying"...)
        self._starting = False  # any row starting (its status cell spins)
        self.widths: dict[str, int] = {}
        self._order: list[str] = []
        self._emptied_on: str | None = None  # the agent selected when a filter left no row
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._memo: dict[str, tuple[tuple[object, ...], tuple[Text, ...]]] = {}  # id -> (what it shows, cells)

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
        self.filter_text = query.strip()
        self.render_rows()

    def set_sort(self, name: str) -> None:
        """A column's header clicked: sort by it, or reverse it if it already is the sort."""
        if name == self.sort_by:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = name, name in BIGGEST_FIRST
        self.render_rows()

    def cycle_sort(self) -> str:
        position = SORT_CYCLE.index(self.sort_by) if self.sort_by in SORT_CYCLE else -1
        name = SORT_CYCLE[(position + 1) % len(SORT_CYCLE)]
        self.sort_by, self.descending = name, name in BIGGEST_FIRST
        self.render_rows()
        return self.sort_by

    def reverse_sort(self) -> None:
        self.descending = not self.descending
        self.render_rows()

    @property
    def sort_label(self) -> str:
        """``runtime ▼``: the arrow says which way the shown values run (▲ smallest first)."""
        return f"{self.sort_by} {'▼' if self.descending else '▲'}"

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
        if not self.busy and not self._starting:
            return  # nothing spins: the common case costs one check, not a walk of every row
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

    def title_cell(self, agent: Agent, width: int) -> Text:
        """The title; for a queued or blocked agent, why it waits too (the title cut first)."""
        style = "bold" if agent.status == WAITING else ""
        why = queue_short(agent, self.now) if agent.status in PENDING else ""
        if agent.ticket:  # the ticket first: the id a person knows the task by
            width -= len(agent.ticket) + 1
        if not why and not agent.ticket:
            return cell(one_line(agent.title, width), style)
        parts: list[tuple[str, str]] = [(f"{agent.ticket} ", "cyan")] if agent.ticket else []
        if not why:
            return cell(Text.assemble(*parts, (one_line(agent.title, width), style)))
        title = one_line(agent.title, max(12, width - len(why) - 3))
        return cell(Text.assemble(*parts, (title, style), (" · " + why, "dim italic")))

    def row_cells(self, row: RowData) -> tuple[Text, ...]:
        a = row.agent
        cells: list[Text] = []
        for key, width in self.widths.items():
            value = sort_value(key, row, self.now)
            if key == "id":
                cells.append(cell(a.id, "bold"))
            elif key == "status":
                cells.append(self.status_cell(a))
            elif key == "marks":
                cells.append(cell(marks_text(a)))
            elif key == "title":
                cells.append(self.title_cell(a, width))
            elif key in TIMED:
                cells.append(timed_cell(value))
            elif key == "cpu":
                cells.append(cell(f"{value:.0f}%" if value is not None else "-", right=True))
            elif key == "rss":
                cells.append(cell(size(value) if value is not None else "-", right=True))
            elif key == "cost":  # estimates dim; a budget past its warning mark stands out
                style = "bold yellow" if a.budget_warned else "dim" if a.cost_source == "estimate" else ""
                cells.append(cell(cost_short(a), style, right=True))
            elif key == "ahead":
                dirty = row.facts is not None and row.facts.dirty
                cells.append(cell("-" if value is None else f"{value}{'*' if dirty else ''}", right=True))
            elif key == "attempt":
                cells.append(cell(str(a.attempt), right=True))
            elif key == "agent":
                cells.append(cell(one_line(a.agent, width)))
            elif key == "branch":
                cells.append(cell(clip_middle(a.branch or "-", width), "dim"))
        return tuple(cells)

    def cells_of(self, row: RowData) -> tuple[Text, ...]:
        """:meth:`row_cells`, built again only when what the row shows changed: the clock alone
        (RUNTIME, OUTPUT, every second for every running agent) redoes those two cells, and
        an unchanged cell stays the same object (nothing to compare or redraw)."""
        a = row.agent
        spinning = a.status == STARTING or a.id in self.busy
        shows = (
            a,
            row.usage,
            row.facts,
            self.busy.get(a.id),
            self.frame if spinning else 0,
            queue_short(a, self.now) if a.status in PENDING else "",
        )
        memo = self._memo.get(a.id)
        if memo is None or memo[0] != shows:
            cells = self.row_cells(row)
        else:
            cells = memo[1]
            for index, key in enumerate(self.widths):
                if key in TIMED:
                    fresh = timed_cell(sort_value(key, row, self.now))
                    if fresh.plain != cells[index].plain:
                        cells = (*cells[:index], fresh, *cells[index + 1 :])
        self._memo[a.id] = (shows, cells)
        return cells

    def render_rows(self) -> None:
        rows = [
            RowData(a, self.usage.get(a.id), self.facts.get(a.id))
            for a in self.agents
            if not self.filter_text or matches(a, self.filter_text)
        ]
        rows = sort_rows(rows, self.sort_by, self.descending, self.now)
        self.rows_data = {r.agent.id: r for r in rows}
        self._starting = any(r.agent.status == STARTING for r in rows)
        order = [r.agent.id for r in rows]
        selected = self.selected_id or self._emptied_on
        widths = layout(self.scrollable_content_region.width or 80, rows, self.now)
        if widths != self.widths:
            self.widths = widths
            self.clear(columns=True)
            for key, width in widths.items():
                column = COLUMNS[key]
                self.add_column(Text(column.label, justify="right" if column.right else "left"), key=key, width=width)
            self._order, self._cells, self._memo = [], {}, {}
        cells = {r.agent.id: self.cells_of(r) for r in rows}
        for gone in self._memo.keys() - cells.keys():
            del self._memo[gone]
        if order == self._order:
            keys = list(widths)
            for agent_id in order:
                old = self._cells.get(agent_id, ())
                for index, value in enumerate(cells[agent_id]):
                    if index >= len(old) or (old[index] is not value and _differs(old[index], value)):
                        self.update_cell(agent_id, keys[index], value)
            self._cells = cells
            return
        self.clear()
        for agent_id in order:
            self.add_row(*cells[agent_id], key=agent_id)
        self._order = order
        self._cells = cells
        # A filter that matches nothing and is then widened gives the cursor back to that agent.
        self._emptied_on = None if order else selected
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
    return a.plain != b.plain or a.style != b.style or a.spans != b.spans
