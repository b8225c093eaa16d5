"""Messages between worker threads, widgets and the app.

Workers hand results to the UI with ``post_message`` (thread-safe, never blocks the worker),
so a slow tmux or git call can only delay its own result, never the screen.
"""

from __future__ import annotations

from textual.message import Message

from ..engine.loop import TickResult
from .screens.spawn import SpawnRequest
from .widgets.agent_table import GitFacts


class Ticked(Message):
    """One engine tick finished (in the poll worker): everything the main screen shows."""

    def __init__(self, result: TickResult) -> None:
        super().__init__()
        self.result = result


class TickFailed(Message):
    """The engine tick raised; the dashboard shows it and tries again next interval."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class GitFactsReady(Message):
    """Commits ahead of base and dirtiness per agent (git calls, polled every few seconds)."""

    def __init__(self, facts: dict[str, GitFacts], statuses: dict[str, str]) -> None:
        super().__init__()
        self.facts = facts
        self.statuses = statuses  # the status each fact was taken at (ended agents: once)


class EngineChanged(Message):
    """An action changed the registry: tick now instead of waiting for the interval."""

    def __init__(self, select: str | None = None, acted_on: str | None = None) -> None:
        super().__init__()
        self.select = select  # agent id to put the cursor on (e.g. a new attempt)
        self.acted_on = acted_on  # agent the action was about (its "busy" mark goes)


class SpawnRejected(Message):
    """The engine refused a spawn request: reopen the dialog with what was typed and why."""

    def __init__(self, request: SpawnRequest, error: str) -> None:
        super().__init__()
        self.request = request
        self.error = error
