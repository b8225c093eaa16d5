"""Grid mode (``g``): up to six agents' tails side by side, each titled with id, status, title.

Panes are kept per agent id, so a tick that changes nothing re-reads nothing; each pane only
reads while the grid is on screen (see :meth:`LogPane.on_screen`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.containers import Grid
from textual.content import Content

from ...engine.models import ACTIVE, Agent
from ...format import one_line, status_style
from .log_pane import LogPane

MAX_PANES = 6


def pick(agents: list[Agent], limit: int = MAX_PANES) -> list[Agent]:
    """The agents worth watching: running ones first, then the rest, in table order."""
    return sorted(agents, key=lambda a: a.status not in ACTIVE)[:limit]


def shape(count: int, width: int) -> tuple[int, int]:
    """(columns, rows) for ``count`` panes on a screen ``width`` cells wide."""
    if count <= 1:
        return 1, 1
    columns = 2 if count <= 4 or width < 120 else 3
    return columns, -(-count // columns)


class LogGrid(Grid):
    DEFAULT_CSS = """
    LogGrid { grid-gutter: 0 1; height: 1fr; }
    LogGrid > LogPane { border: round $foreground 30%; border-title-color: $text; height: 1fr; }
    LogGrid > LogPane.-selected { border: round $accent; }
    LogGrid > LogPane .partial { max-height: 1; }
    LogGrid > LogPane > FollowLog { overflow-x: hidden; }
    """

    def __init__(self, log_path: Callable[[str], Path], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_path = log_path
        self.panes: dict[str, LogPane] = {}

    def show(self, agents: list[Agent], selected: str | None) -> None:
        chosen = pick(agents)
        wanted = [a.id for a in chosen]
        for agent_id in list(self.panes):
            if agent_id not in wanted:
                self.panes.pop(agent_id).remove()
        for agent in chosen:
            pane = self.panes.get(agent.id)
            if pane is None:
                pane = LogPane(max_lines=500, classes="grid-pane")
                self.panes[agent.id] = pane
                self.mount(pane)
                pane.call_after_refresh(pane.show, agent.id, self.log_path(agent.id))
            style, symbol = status_style(agent.status)
            # Through rich Text, so status colours are the same ANSI-themed ones as the table's.
            title = Text.assemble(
                (agent.id, "bold"), " ", (f"{symbol} {agent.status}", style), " ", one_line(agent.title, 60)
            )
            pane.border_title = Content.from_rich_text(title)
            pane.set_class(agent.id == selected, "-selected")
        columns, rows = shape(len(chosen), self.app.size.width)
        self.styles.grid_size_columns = columns
        self.styles.grid_size_rows = rows
