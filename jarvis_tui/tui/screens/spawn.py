"""``n``: the spawn dialog. Profile (or auto), priority, kind, budget, start now or hold (a
held task waits for ``u``), title, ticket, prompt (multi-line); ``ctrl+s`` spawns. Profiles
whose program is not installed are marked and refused.

The dialog only collects input; the spawn itself runs in a worker after it closes (a worktree
can take seconds). A mistake the engine rejects (:class:`UsageError`) reopens the dialog with
what was typed and the engine's own message, so invalid input never surfaces as a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    kind: str = ""
    budget: str = ""  # USD as typed; checked on submit
    ticket: str = ""
    hold: bool = False

    def budget_value(self) -> float | None:
        """The budget as a number (None: none); raises ValueError for text that is not one."""
        return float(self.budget) if self.budget.strip() else None

    def options(self) -> dict[str, Any]:
        """The engine's spawn options (``Supervisor.spawn`` and ``validate_spawn``) but the prompt."""
        return {
            "agent": self.agent,
            "title": self.title or None,
            "priority": self.priority,
            "kind": self.kind or None,
            "budget": self.budget_value(),
            "ticket": self.ticket or None,
            "hold": self.hold,
        }


START = [("now, or queued", "now"), ("held until u", "hold")]


class SpawnScreen(ModalScreen[SpawnRequest | None]):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Spawn", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        profiles: list[str],
        default_profile: str,
        *,
        request: SpawnRequest | None = None,
        error: str = "",
        validate: Callable[[SpawnRequest], str] | None = None,
        unavailable: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.validate = validate  # returns an error message, or "" (no I/O: safe on the UI thread)
        self.profiles = profiles
        self.unavailable = unavailable or {}  # profile -> why it cannot start here
        self.request = request or SpawnRequest(prompt="", agent=default_profile, title="")
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog spawn") as dialog:
            dialog.border_title = "Spawn an agent"
            dialog.border_subtitle = "ctrl+s spawn · esc cancel"
            with Horizontal(classes="row"):
                with Vertical(classes="field"):
                    yield Label("Agent profile")
                    yield Select(
                        self.profile_options(), value=self.request.agent, allow_blank=False, id="agent", compact=True
                    )
                with Vertical(classes="field"):
                    yield Label("Priority")
                    yield Select(
                        [(p, p) for p in PRIORITIES],
                        value=self.request.priority,
                        allow_blank=False,
                        id="priority",
                        compact=True,
                    )
            with Horizontal(classes="row"):
                with Vertical(classes="field"):
                    yield Label("Kind (for routing)")
                    yield Input(self.request.kind, placeholder="review, test…", id="kind", compact=True)
                with Vertical(classes="field"):
                    yield Label("Budget (USD)")
                    yield Input(self.request.budget, placeholder="none", id="budget", compact=True)
                with Vertical(classes="field"):
                    yield Label("Start")
                    value = "hold" if self.request.hold else "now"
                    yield Select(START, value=value, allow_blank=False, id="start", compact=True)
            with Horizontal(classes="row"):
                with Vertical(classes="field wide"):
                    yield Label("Title")
                    yield Input(
                        self.request.title, placeholder="optional: the prompt's first line", id="title", compact=True
                    )
                with Vertical(classes="field"):
                    yield Label("Ticket")
                    yield Input(self.request.ticket, placeholder="e.g. ENG-142", id="ticket", compact=True)
            yield Label("Prompt")
            yield TextArea(self.request.prompt, id="prompt", soft_wrap=True, tab_behavior="focus", compact=True)
            yield Static(self.error, id="error", classes="error", markup=False)

    def profile_options(self) -> list[tuple[str, str]]:
        """Profiles by name, those that cannot start here marked; ``auto`` when there is a choice."""
        options = [(f"{p} (not installed)" if p in self.unavailable else p, p) for p in self.profiles]
        if len(self.profiles) - len(self.unavailable) > 1:
            options.append(("auto (best fit for the kind)", "auto"))
        return options

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
        request = SpawnRequest(
            prompt=prompt,
            agent=str(agent),
            title=self.query_one("#title", Input).value,
            priority=str(priority),
            kind=self.query_one("#kind", Input).value.strip(),
            budget=self.query_one("#budget", Input).value.strip(),
            ticket=self.query_one("#ticket", Input).value.strip(),
            hold=self.query_one("#start", Select).value == "hold",
        )
        if request.agent in self.unavailable:
            self.show_error(f"profile {request.agent}: {self.unavailable[request.agent]}")
            return
        try:
            request.budget_value()
        except ValueError:
            self.show_error(f"Budget: {request.budget!r} is not an amount of USD (e.g. 2.50)")
            return
        problem = self.validate(request) if self.validate is not None else ""
        if problem:
            self.show_error(problem)
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#title, #ticket")
    def title_done(self) -> None:
        self.query_one("#prompt", TextArea).focus()

    @on(TextArea.Changed, "#prompt")
    def clear_error(self) -> None:
        if self.query_one("#error", Static).display:
            self.show_error("")
