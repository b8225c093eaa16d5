"""What passes between people and agents: input typed into an agent, and the agent's own
heartbeats and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import SupervisorError, UsageError
from .lifecycle import Action, Event, require
from .models import ACTIVE, DONE, FAILED, WAITING, Agent
from .tmux import TmuxError

if TYPE_CHECKING:
    from .supervisor import Supervisor


def send(sup: Supervisor, ident: str, text: str, *, enter: bool = True) -> Agent:
    """Type ``text`` into the agent's pane byte for byte (through a tmux buffer, never a shell)."""
    agent = sup.get(ident)
    require(agent, Action.SEND)
    if "\x00" in text:
        raise UsageError("the text contains a NUL byte")
    try:
        sup.tmux.send_text(agent.pane_id or "", text, enter=enter)
    except TmuxError as exc:
        raise SupervisorError(f"could not send to {agent.id}: {exc}") from None
    sup.registry.add_event("sent", agent.id, agent.task_id, chars=len(text))
    if agent.reported_state is not None:  # input answers whatever it reported: its screen decides again
        sup.registry.update_attempt(agent.id, reported_state=None, reported_state_at=None, reported_state_reason=None)
    if agent.status == WAITING:
        sup.transition(agent, Event.RESUMED, reason="input sent", waiting_kind=None)
    return sup.registry.get(agent.id)


def heartbeat(sup: Supervisor, ident: str, note: str | None = None) -> Agent:
    """The agent says it is alive: silence detection starts again."""
    agent = sup.get(ident)
    sup.registry.update_attempt(agent.id, heartbeat_at=sup.clock(), heartbeat_note=note)
    if agent.status == WAITING and agent.waiting_kind == "silence":
        sup.transition(agent, Event.RESUMED, reason="heartbeat", waiting_kind=None)
    return sup.registry.get(agent.id)


def report(sup: Supervisor, ident: str, status: str, summary: str = "") -> Agent:
    """The agent reports its outcome; the next reconcile records it."""
    if status not in (DONE, FAILED):
        raise UsageError("report --status must be done or failed")
    agent = sup.get(ident)
    sup.registry.update_attempt(agent.id, reported_status=status, summary=summary or None)
    sup.registry.add_event("report", agent.id, agent.task_id, status=status, summary=summary)
    if agent.status in ACTIVE:
        sup.reconcile()
    return sup.registry.get(agent.id)


STATES = ("working", "waiting", "idle")  # what an agent may report about itself while it runs


def report_state(sup: Supervisor, ident: str, state: str, reason: str = "", *, via: str = "agent") -> Agent:
    """The agent says what it is doing (``jarvis report --state``, or its hooks do): recorded
    with when and through what, then applied at once. It outranks the screen and silence
    until later output contradicts it (:func:`.reconcile.classify`)."""
    if state not in STATES:
        raise UsageError(f"report --state must be one of {', '.join(STATES)}")
    agent = sup.get(ident)
    sup.registry.update_attempt(
        agent.id,
        reported_state=state,
        reported_state_at=sup.clock(),
        reported_state_reason=reason.strip()[:200] or None,
    )
    sup.registry.add_event("state_report", agent.id, agent.task_id, state=state, reason=reason, via=via)
    if agent.status in ACTIVE:
        sup.reconcile()
    return sup.registry.get(agent.id)


__all__ = ["STATES", "heartbeat", "report", "report_state", "send"]
