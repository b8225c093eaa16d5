"""The review's verdicts as coloured Text: would it merge, did its checks pass, does it
overlap. One look for the review screen's title, the merge dialog and the detail view; the
words are the engine's (``Preview.summary``, ``Agent.check``) and :mod:`...describe`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from ..describe import MARKS, listed, marks
from ..engine.models import Agent

if TYPE_CHECKING:  # (the agent table's marks need none of the review machinery: first paint)
    from ..engine.git.review import Preview

PREVIEW = {  # PreviewStatus (a StrEnum: its values are these words) -> symbol, style
    "clean": ("✓", "green"),
    "conflicts": ("✗", "bold red"),
    "already merged": ("⇥", "blue"),
}


def preview_text(preview: Preview) -> Text:
    """``✓ merges cleanly into main (1a2b3c4d5e6f)``."""
    symbol, style = PREVIEW.get(preview.status, ("?", ""))
    return Text(f"{symbol} {preview.summary}", style=style)


def check_text(agent: Agent) -> Text:
    """``check ✓ passed`` / ``check ✗ failed (exit 1)`` / ``check … running`` / ``not checked``
    (``c`` runs it: the footer says so)."""
    if agent.check_state in MARKS:
        symbol, style, _ = MARKS[agent.check_state]
        return Text(f"check {symbol} {agent.check}", style=style)
    return Text("not checked", style="dim")


def marks_text(agent: Agent) -> Text:
    """The agent table's marker cell: one symbol per mark, coloured."""
    text = Text(no_wrap=True, end="")
    for mark in marks(agent):
        symbol, style, _ = MARKS[mark]
        text.append(symbol, style)
    return text


def warnings_text(agent: Agent) -> Text | None:
    """Overlaps and out-of-scope paths, on one line (None when there are none)."""
    parts: list[Text] = []
    if "overlap" in marks(agent):
        parts.append(Text(f"↔ touches the same files as {', '.join(agent.overlaps)}", style="yellow"))
    if agent.out_of_scope:
        parts.append(Text(f"⚠ outside its scope: {listed(agent.out_of_scope, 3)}", style="bold yellow"))
    return Text("  ·  ").join(parts) if parts else None


__all__ = ["check_text", "marks_text", "preview_text", "warnings_text"]
