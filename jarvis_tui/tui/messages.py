"""Messages between worker threads, widgets and the app.

Workers hand results to the UI with ``post_message`` (thread-safe, never blocks the worker),
so a slow tmux or git call can only delay its own result, never the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from ..engine.config import Config

if TYPE_CHECKING:
    from ..engine.loop import TickResult
    from .screens.spawn import SpawnRequest


@dataclass
class Ticked(Message):
    """One engine tick finished (in the poll worker): everything the main screen shows."""

    result: TickResult


@dataclass
class TickFailed(Message):
    """The engine tick raised; the dashboard shows it and tries again next interval."""

    error: str


@dataclass
class ConfigChanged(Message):
    """config.toml changed on disk and was read again: ``config`` is in use now, or ``error``
    says why the file was refused (the last good config stays in use)."""

    config: Config | None
    error: str = ""
    asked: bool = False  # ctrl+r (say "unchanged" too), not a change noticed by the poll


class GitFactsReady(Message):
    """The git worker updated the fleet's facts (commits ahead, dirtiness; every few seconds)."""


@dataclass
class EngineChanged(Message):
    """An action changed the registry: tick now instead of waiting for the interval."""

    select: str | None = None  # agent id to put the cursor on (e.g. a new attempt)
    acted_on: str | None = None  # agent the action was about (its "busy" mark goes)


@dataclass
class SpawnRejected(Message):
    """The engine refused a spawn request: reopen the dialog with what was typed and why."""

    request: SpawnRequest
    error: str


@dataclass
class MergeFinished(Message):
    """A merge asked from a screen ended (``merged`` False: refused, conflicted or failed)."""

    agent_id: str
    merged: bool
