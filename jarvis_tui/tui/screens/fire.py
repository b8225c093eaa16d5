"""``f``: the fire dialog. A reason (arrows or 1-5), an optional note, ``enter`` fires.

The dialog returns the choice; the app fires through :meth:`Supervisor.fire`, exactly what
``jarvis fire`` does: the process tree stopped, every file preserved to
``refs/jarvis/fired/<id>``, the branch kept.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...engine.models import Agent
from ...engine.vocabulary import FIRE_REASONS
from . import subject


class FireScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "confirm", "Fire", priority=True),  # from the list and the note alike
        *(Binding(str(n), f"choose({n - 1})", reason, show=False) for n, reason in enumerate(FIRE_REASONS, 1)),
    ]

    def __init__(self, agent: Agent) -> None:
        super().__init__()
        self.agent = agent

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fire") as dialog:
            dialog.border_title = f"Fire {self.agent.id}"
            dialog.border_subtitle = "↑↓ or 1-5 reason · enter fire · esc cancel"
            yield subject(self.agent)
            yield Label("Why?")
            options = [
                Option(f"{n}  {reason:<13}[dim]{FIRE_REASONS[reason]}[/]", id=reason)
                for n, reason in enumerate(FIRE_REASONS, 1)
            ]
            yield OptionList(*options, id="reasons", compact=True)
            yield Label("Note (optional)")
            yield Input(placeholder="what went wrong, for the record and the next attempt", id="note", compact=True)
            hint = (
                "Its process tree is stopped; all its files are kept at "
                f"refs/jarvis/fired/{self.agent.id} and its branch stays."
                if self.agent.branch
                else "It never started: it leaves the queue, with your reason on record."
            )
            yield Static(hint, classes="hint", markup=False)
            yield Static("", id="error", classes="error", markup=False)

    def on_mount(self) -> None:
        reasons = self.query_one("#reasons", OptionList)
        reasons.highlighted = None
        reasons.focus()
        self.query_one("#error", Static).display = False

    @property
    def reason(self) -> str | None:
        index = self.query_one("#reasons", OptionList).highlighted
        return list(FIRE_REASONS)[index] if index is not None else None

    def action_choose(self, index: int) -> None:
        self.query_one("#reasons", OptionList).highlighted = index

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        reason = self.reason
        if reason is None:
            error = self.query_one("#error", Static)
            error.update("Choose a reason first: ↑↓ or 1-5.")
            error.display = True
            self.query_one("#reasons", OptionList).focus()
            return
        self.dismiss((reason, self.query_one("#note", Input).value.strip()))

    @on(OptionList.OptionSelected, "#reasons")
    def reason_clicked(self) -> None:
        self.action_confirm()

    @on(OptionList.OptionHighlighted, "#reasons")
    def reason_highlighted(self) -> None:
        self.query_one("#error", Static).display = False
