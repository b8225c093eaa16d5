"""``n``: the spawn dialog. Profile, title, prompt (multi-line), priority; ``ctrl+s`` spawns.

The dialog only collects input; the spawn itself runs in a worker after it closes (a worktree
can take seconds). A mistake the engine rejects (:class:`UsageError`) reopens the dialog with
what was typed and the engine's own message, so invalid input never surfaces as a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from ...engine.vocabulary import PRIORITIES


@dataclass(frozen=True)
class SpawnRequest:
    prompt: str
    agent: str
    title: str
    priority: str = "medium"


class SpawnScreen(ModalScreen[SpawnRequest | None]):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Spawn", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, profiles: list[str], default_profile: str, *, request: SpawnRequest | None = None,
                 error: str = "", validate: Callable[[SpawnRequest], str] | None = None) -> None:
        super().__init__()
        self.validate = validate  # returns an error message, or "" (no I/O: safe on the UI thread)
        self.profiles = profiles
        self.request = request or SpawnRequest(prompt="", agent=default_profile, title="")
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog spawn") as dialog:
            dialog.border_title = "Spawn an agent"
            dialog.border_subtitle = "ctrl+s spawn · esc cancel"
            with Horizontal(classes="row"):
                with Vertical(classes="field"):
                    yield Label("Agent profile")
                    yield Select([(p, p) for p in self.profiles], value=self.request.agent,
                                 allow_blank=False, id="agent", compact=True)
                with Vertical(classes="field"):
                    yield Label("Priority")
                    yield Select([(p, p) for p in PRIORITIES], value=self.request.priority,
                                 allow_blank=False, id="priority", compact=True)
            yield Label("Title")
            yield Input(self.request.title, placeholder="optional: the prompt's first line", id="title",
                        compact=True)
            yield Label("Prompt")
            yield TextArea(self.request.prompt, id="prompt", soft_wrap=True, tab_behavior="focus",
                           compact=True)
            yield Static(self.error, id="error", classes="error", markup=False)

    def on_mount(self) -> None:
        self.show_error(self.error)
        self.query_one("#prompt", TextArea).focus()

    def show_error(self, message: str) -> None:
        error = self.query_one("#error", Static)
        error.update(message)
        error.display = bool(message)

    def action_submit(self) -> None:
        prompt = self.query_one("#prompt", TextArea).text
        if not prompt.strip():
            self.show_error("The prompt is empty: tell the agent what to do.")
            self.query_one("#prompt", TextArea).focus()
            return
        agent = self.query_one("#agent", Select).value
        priority = self.query_one("#priority", Select).value
        request = SpawnRequest(prompt=prompt, agent=str(agent), title=self.query_one("#title", Input).value,
                               priority=str(priority))
        problem = self.validate(request) if self.validate is not None else ""
        if problem:
            self.show_error(problem)
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#title")
    def title_done(self) -> None:
        self.query_one("#prompt", TextArea).focus()

    @on(TextArea.Changed, "#prompt")
    def clear_error(self) -> None:
        if self.query_one("#error", Static).display:
            self.show_error("")
