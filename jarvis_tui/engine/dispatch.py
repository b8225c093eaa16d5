"""The queue: admit agents (``queued -> starting``, claimed for the start in the same
transaction) or record why not, and start queued agents in priority order.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from . import claims
from .admission import Decision, admit, ahead_of, priority_key, waits_on_itself
from .budgets import daily_block
from .conflicts import scope_holder
from .errors import SupervisorError
from .lifecycle import Event
from .models import ACTIVE, QUEUED, Agent, Claim
from .resources import SystemReading
from .schema import ATTEMPT_FIELDS
from .usage import spent_today

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.dispatch")


def decide(sup: Supervisor, agent: Agent, *, reading: SystemReading | None = None, order: bool = False) -> Decision:
    """Admission for one agent now; ``order``: a new agent queues behind equal or higher priorities."""
    active = sup.registry.agents(statuses=ACTIVE)
    latest = {a.task_id: a for a in sup.registry.agents(include_removed=True, latest_only=True)}
    last = sup.registry.get_meta("last_start_at")
    ahead = ahead_of(agent, sup.registry.agents(statuses={QUEUED})) if order else []
    held = scope_holder(sup, agent, active)
    spent = daily_block(sup.config, agent.agent, spent_today(sup.registry, sup.clock())) if (
        sup.config.budgets.daily > 0 or any(p.daily_budget > 0 for p in sup.config.profiles.values())) else None
    return admit(agent, sup.config, active, now=sup.clock(),
                 reading=reading if reading is not None else sup.reading(),
                 last_start_at=float(last) if last else None, tasks_latest=latest, ahead=ahead,
                 scope_held=(held[0], held[1].id) if held else None, budget_spent=spent)


def admit_one(sup: Supervisor, agent_id: str, *, reading: SystemReading | None = None,
              order: bool = False) -> tuple[Agent, Claim | None]:
    """Decide for one queued agent and record it: (the agent, the start claim if admitted)."""
    with sup.registry.transaction() as conn:
        agent = sup.registry.get(agent_id)
        if agent.status != QUEUED or agent.removed:
            return agent, None
        decision = decide(sup, agent, reading=reading, order=order)
        queue = decision.queue
        if decision.admit:
            reading_now = {"cpu": round(reading.cpu, 1), "ram": round(reading.ram, 1)} if reading else {}
            moved = sup.transition(agent, Event.ADMIT, reason="admitted", event_data=reading_now, queue_reason=None,
                                   queue_kind=None, queue_data=None)
            if moved is None:  # claimed (a fire cancelling it) in the meantime
                return sup.registry.get(agent_id), None
            sup.registry.set_meta("last_start_at", str(sup.clock()), conn=conn)
            claim = claims.take(sup.registry, agent_id, "start", now=sup.clock())
            return moved, claim
        assert queue is not None
        fields: dict[str, Any] = {"queue_reason": queue.text, "queue_kind": queue.kind,
                  "queue_data": json.dumps({"until": queue.until, **queue.data}, default=str)}
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


__all__ = ["admit_one", "decide", "dispatch"]
