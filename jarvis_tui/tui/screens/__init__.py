"""Screens: modal dialogs (spawn, fire, send, confirm), the agent detail view and the metrics view."""

from textual.widgets import Static

from ...engine.models import Agent
from ...format import one_line


def subject(agent: Agent) -> Static:
    """The line naming the agent a dialog acts on: its title (never markup) and status."""
    return Static(f"{one_line(agent.title, 70)}  ({agent.status})", classes="subject", markup=False)
