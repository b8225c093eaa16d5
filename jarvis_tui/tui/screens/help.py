"""``?``: every key of the dashboard, generated from the actions table (so it cannot go stale),
with what the footer leaves out at this width. ``esc``, ``?`` or ``q`` closes it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import ACTIONS, SECTIONS, KeyAction

NOTES = (
    ("↑ ↓ PgUp PgDn", "Move in the table (Home: first agent)"),
    ("click a header", "Sort by that column; click again to reverse"),
    ("ctrl-q", "In an attached agent session: detach, back to the dashboard (ctrl-b d works too outside tmux)"),
)


def key_names(action: KeyAction) -> str:
    """``end, ctrl+end``: every key of a row, as a user types it."""
    names = {"slash": "/", "question_mark": "?", "escape": "esc"}
    keys = [names.get(k, k) for k in action.keys.split(",")]
    if action.display and action.display not in keys:
        keys[0] = action.display
    return ", ".join(keys)


def keys_table() -> Table:
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for section in SECTIONS:
        table.add_row(Text(section, style="bold underline"), "")
        for action in ACTIONS:
            if action.section == section:
                table.add_row(Text(key_names(action)), Text(action.help))
        table.add_row("", "")
    table.add_row(Text("Elsewhere", style="bold underline"), "")
    for key, text in NOTES:
        table.add_row(Text(key), Text(text))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="dialog help") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "esc close · ctrl+p searches actions by name"
            yield Static(keys_table(), id="keys")

    def action_close(self) -> None:
        self.dismiss(None)
