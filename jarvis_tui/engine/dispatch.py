"""The queue: admit agents (``queued -> starting``, claimed for the start in the same
transaction) or record why not, and start queued agents in priority order.

Also: :func:`release` (a held task joins the queue) and :func:`preview` (``jarvis dispatch
--dry-run``: what would start now and why every other queued agent waits, changing nothing).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import claims
from .admission import Decision, admit, ahead_of, priority_key, waits_on_itself
from .budgets import daily_block, spent_today
from .errors import SupervisorError
from .lifecycle import Action, Event, require
from .models import ACTIVE, BLOCKED, HELD, QUEUED, STARTING, Agent, Claim, QueueReason, iso
from .resources import SystemReading
from .schema import ATTEMPT_FIELDS

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.dispatch")


@dataclass
class Inputs:
    """What admission looks at besides the agent itself (read once for many decisions)."""

    active: list[Agent]
    latest: dict[str, Agent]  # each task's latest attempt
    last_start_at: float | None
    reading: SystemReading


def inputs(sup: Supervisor, reading: SystemReading | None = None, *, tasks: Iterable[str] | None = None) -> Inputs:
    """``tasks``: only these tasks' latest attempts (one agent's dependencies), else every task's."""
    last = sup.registry.get_meta("last_start_at")
    latest = (
        sup.registry.latest_of(*tasks)
        if tasks is not None
        else {a.task_id: a for a in sup.registry.agents(include_removed=True, latest_only=True)}
    )
    return Inputs(
        active=sup.registry.agents(statuses=ACTIVE),
        latest=latest,
        last_start_at=float(last) if last else None,
        reading=reading if reading is not None else sup.reading(),
    )


def decide(
    sup: Supervisor,
    agent: Agent,
    *,
    reading: SystemReading | None = None,
    order: bool = False,
    given: Inputs | None = None,
) -> Decision:
    """Admission for one agent now; ``order``: a new agent queues behind equal or higher priorities.
    ``given``: inputs already read (a preview simulates the starts before this one in them)."""
    seen = given if given is not None else inputs(sup, reading, tasks=agent.dependencies)
    ahead = ahead_of(agent, sup.registry.agents(statuses={QUEUED})) if order else []
    held = None
    if agent.scope:  # late: the git scope machinery only for agents that have a scope
        from .conflicts import scope_holder

        held = scope_holder(sup, agent, seen.active)
    spent = (
        daily_block(sup.config, agent.agent, spent_today(sup.registry, sup.clock()))
        if (sup.config.budgets.daily > 0 or any(p.daily_budget > 0 for p in sup.config.profiles.values()))
        else None
    )
    return admit(
        agent,
        sup.config,
        seen.active,
        now=sup.clock(),
        reading=seen.reading,
        last_start_at=seen.last_start_at,
        tasks_latest=seen.latest,
        ahead=ahead,
        scope_held=(held[0], held[1].id) if held else None,
        budget_spent=spent,
    )


def admit_one(
    sup: Supervisor, agent_id: str, *, reading: SystemReading | None = None, order: bool = False
) -> tuple[Agent, Claim | None]:
    """Decide for one queued agent and record it: (the agent, the start claim if admitted)."""
    with sup.registry.transaction() as conn:
        agent = sup.registry.get(agent_id)
        if agent.status != QUEUED or agent.removed:
            return agent, None
        decision = decide(sup, agent, reading=reading, order=order)
        queue = decision.queue
        if decision.admit:
            reading_now = {"cpu": round(reading.cpu, 1), "ram": round(reading.ram, 1)} if reading else {}
            moved = sup.transition(
                agent,
                Event.ADMIT,
                reason="admitted",
                event_data=reading_now,
                queue_reason=None,
                queue_kind=None,
                queue_data=None,
            )
            if moved is None:  # claimed (a fire cancelling it) in the meantime
                return sup.registry.get(agent_id), None
            sup.registry.set_meta("last_start_at", str(sup.clock()), conn=conn)
            claim = claims.take(sup.registry, agent_id, "start", now=sup.clock())
            return moved, claim
        assert queue is not None
        fields: dict[str, Any] = {
            "queue_reason": queue.text,
            "queue_kind": queue.kind,
            "queue_data": json.dumps({"until": queue.until, **queue.data}, default=str),
        }
        if decision.block:
            moved = sup.transition(agent, Event.BLOCK, reason=queue.text, **fields)
            return moved or sup.registry.get(agent_id), None
        if (agent.queue_reason, agent.queue.kind if agent.queue else None) != (queue.text, queue.kind):
            sup.registry.write_row(conn, agent_id, fields, columns=ATTEMPT_FIELDS, where="status = 'queued'")
        return sup.registry.get(agent_id), None


def dispatch(sup: Supervisor, *, reading: SystemReading | None = None) -> list[Agent]:
    """Start queued agents in priority order while admission allows."""
    started: list[Agent] = []
    reading = reading if reading is not None else sup.reading()
    for agent in sorted(sup.registry.agents(statuses={QUEUED}), key=priority_key):
        fresh, claim = admit_one(sup, agent.id, reading=reading)
        if claim is not None:
            try:
                started.append(sup.start(agent.id, claim))
            except SupervisorError as exc:
                log.warning("%s could not start: %s", agent.id, exc)
            continue
        if fresh.status == QUEUED and fresh.queue is not None and not waits_on_itself(fresh.queue):
            break  # capacity or resources said no: lower priorities must not jump the queue
    return started


def release(sup: Supervisor, ident: str) -> Agent:
    """A held task joins the queue (``held -> queued``) and starts now if admission allows."""
    agent = sup.get(ident)
    require(agent, Action.RELEASE)
    with sup.registry.transaction():
        moved = sup.transition(agent, Event.RELEASE, reason="released")
        if moved is None:
            raise SupervisorError(f"agent {agent.id} changed while being released (now {sup.get(agent.id).status})")
        admitted, claim = admit_one(sup, agent.id, order=True)
    log.info("%s released: %s", agent.id, admitted.status)
    if claim is not None:
        return sup.start(agent.id, claim)
    return admitted


@dataclass(frozen=True)
class Preview:
    """One queued agent in a dry run: would it start now, and if not, why."""

    agent: Agent
    start: bool
    queue: QueueReason | None
    block: bool = False

    def to_json(self) -> dict[str, Any]:
        a = self.agent
        return {
            "id": a.id,
            "task_id": a.task_id,
            "title": a.title,
            "agent": a.agent,
            "priority": a.priority,
            "ticket": a.ticket,
            "would_start": self.start,
            "would_block": self.block,
            "queue": self.queue.to_json() if self.queue else None,
        }


def preview(sup: Supervisor, *, reading: SystemReading | None = None, extra: Sequence[Agent] = ()) -> list[Preview]:
    """Admission for every queued agent in dispatch order, as if each one admitted before it
    had started (its slot taken, the warning zone's pace restarted). Writes nothing.

    ``extra``: agents not recorded yet, queued as they would be (a batch sizing itself)."""
    seen = inputs(sup, reading)
    out: list[Preview] = []
    for agent in sorted([*sup.registry.agents(statuses={QUEUED}), *extra], key=priority_key):
        decision = decide(sup, agent, given=seen)
        if decision.admit:
            seen.active.append(dataclasses.replace(agent, status=STARTING))
            seen.last_start_at = sup.clock()
        out.append(Preview(agent, decision.admit, decision.queue, decision.block))
    return out


def preview_json(sup: Supervisor, entries: list[Preview], reading: SystemReading) -> dict[str, Any]:
    """``jarvis dispatch --dry-run --json`` and the MCP ``dispatch_preview`` tool."""
    others = sup.registry.agents(statuses={HELD, BLOCKED}, latest_only=True)
    return {
        "at": iso(sup.clock()),
        "reading": {"cpu": round(reading.cpu, 1), "ram": round(reading.ram, 1)},
        "running": len(sup.registry.agents(statuses=ACTIVE)),
        "max_agents": sup.config.supervisor.max_agents,
        "would_start": [e.agent.id for e in entries if e.start],
        "queue": [e.to_json() for e in entries],
        "held": [a.id for a in others if a.status == HELD],
        "blocked": [
            {"id": a.id, "queue": a.queue.to_json() if a.queue else None, "reason": a.status_reason}
            for a in others
            if a.status == BLOCKED
        ],
    }


__all__ = ["Inputs", "Preview", "admit_one", "decide", "dispatch", "inputs", "preview", "preview_json", "release"]
