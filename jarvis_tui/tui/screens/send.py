"""``s``: type a line into the selected agent (e.g. answer its ``[y/N]``); ``enter`` sends it.

Sent through :meth:`Supervisor.send` (tmux ``load-buffer``/``paste-buffer``): the text reaches
the agent byte for byte, and is never parsed by a shell or by tmux.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...engine.models import Agent
from . import subject


class SendScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, agent: Agent, question: str = "") -> None:
        super().__init__()
        self.agent = agent
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog send") as dialog:
            dialog.border_title = f"Send to {self.agent.id}"
            dialog.border_subtitle = "enter send · esc cancel"
            yield subject(self.agent)
            if self.question:
                yield Static(f"▌ {self.question}", classes="question", markup=False)
            yield Input(
                placeholder="a line of input for the agent (Enter is pressed after it)", id="text", compact=True
            )

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#text")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)  # an empty line is just Enter: the agent's default answer
