"""Admission: may one more agent start now? Pure logic over plain values, no I/O.

Checked in this order; the first "no" becomes the agent's queue reason (a
:class:`~.models.QueueReason`: its kind, its human text and, for timed waits, when it ends):

``dependency`` (an ``--after`` task not done; failed or fired: blocked) -> ``backoff`` (an
automatic retry's delay) -> ``scope`` (a running agent's file scope overlaps its scope) -> ``budget``
(a daily budget is spent: ``[budgets] daily`` or the profile's ``daily_budget``) -> ``batch`` (its
batch already runs as many as the width ``strategy auto`` fixed) -> ``capacity`` (``max_agents``)
-> ``profile`` (``max_concurrent``)
-> ``resources`` (danger zone: none) -> ``warning`` (warning zone: one start per
``warning_interval``) -> ``order`` (a NEW spawn or retry that could start does not jump ahead
of queued agents of equal or higher priority: it queues, and dispatch picks in order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .budgets import Daily
from .config import Config
from .models import ACTIVE, DONE, ENDED, MERGED, Agent, QueueReason
from .resources import DANGER, WARNING, SystemReading, system_zone
from .vocabulary import priority_rank

# Kinds that concern only the agent itself: while they hold, agents behind it in the queue
# may still start (its profile's slot frees with a global one). Any other "no" (capacity,
# resources) stops the queue, so lower priorities never jump ahead.
OWN_KINDS = frozenset({"dependency", "backoff", "profile", "scope", "budget", "batch"})


@dataclass(frozen=True)
class Decision:
    admit: bool
    queue: QueueReason | None = None  # why not (None when admitted)
    block: bool = False  # a dependency failed: the agent can never start by itself

    @property
    def reason(self) -> str | None:
        return self.queue.text if self.queue else None


def no(kind: str, text: str, *, until: float | None = None, block: bool = False, **data: object) -> Decision:
    return Decision(False, QueueReason(kind, text, until, dict(data)), block=block)


def waits_on_itself(queue: QueueReason | None) -> bool:
    return queue is not None and queue.kind in OWN_KINDS


def priority_key(agent: Agent) -> tuple[int, float, str]:
    """Queue order: critical, high, medium, low; first come first served within one."""
    return (priority_rank(agent.priority), agent.created_at, agent.id)


def dependency_state(agent: Agent, tasks_latest: dict[str, Agent]) -> Decision | None:
    """``None`` when every ``--after`` task is done (fan-in: all of them); else a wait, or a
    block naming each dependency that failed or was fired (it can never start by itself)."""
    deps = agent.dependencies
    if not deps:
        return None
    ended: list[Agent] = []
    pending: list[tuple[str, str]] = []  # (task id, its status)
    for task in deps:
        dep = tasks_latest.get(task)
        if dep is None:
            pending.append((task, "unknown"))
        elif dep.status in (DONE, MERGED):  # merged: done, and its work landed
            continue
        elif dep.status in ENDED:
            ended.append(dep)
        else:
            pending.append((task, str(dep.status)))
    if ended:

        def said(dep: Agent) -> str:
            reason = (dep.status_reason or "").removeprefix(f"{dep.status}: ")  # not "fired (fired: ...)"
            return f"{dep.task_id} {dep.status}" + (f" ({reason})" if reason else "")

        text = ("dependency " if len(ended) == 1 else "dependencies ") + ", ".join(said(d) for d in ended)
        return no(
            "dependency",
            text,
            block=True,
            task=ended[0].task_id,
            status=str(ended[0].status),
            blocked_by=[{"task": d.task_id, "status": str(d.status)} for d in ended],
        )
    if not pending:
        return None
    waiting = ", ".join(f"{task} ({status})" for task, status in pending)
    if len(deps) == 1:
        text = f"waiting for task {waiting}"
    else:
        text = f"waiting for {len(pending)} of {len(deps)} tasks: {waiting}"
    return no(
        "dependency",
        text,
        task=pending[0][0],
        status=pending[0][1],
        waiting_for=[{"task": task, "status": status} for task, status in pending],
    )


def ahead_of(agent: Agent, queued: Iterable[Agent]) -> list[Agent]:
    """Queued agents that go before ``agent`` and are not waiting on something of their own."""
    mine = priority_key(agent)
    return [a for a in queued if a.id != agent.id and priority_key(a) < mine and not waits_on_itself(a.queue)]


def admit(
    agent: Agent,
    config: Config,
    active: Iterable[Agent],
    *,
    now: float,
    reading: SystemReading | None = None,
    last_start_at: float | None = None,
    tasks_latest: dict[str, Agent] | None = None,
    ahead: Sequence[Agent] = (),
    scope_held: tuple[str, str] | None = None,
    budget_spent: Daily | None = None,
) -> Decision:
    dependency = dependency_state(agent, tasks_latest or {})
    if dependency is not None:
        return dependency
    profile = config.profiles.get(agent.agent)
    if agent.not_before is not None and now < agent.not_before:
        limit_attempts = agent.max_attempts or (profile.max_attempts if profile is not None else 1)
        return no(
            "backoff",
            f"retry {agent.attempt}/{limit_attempts} in {math.ceil(agent.not_before - now)}s (backoff)",
            until=agent.not_before,
        )
    if scope_held is not None:
        pattern, holder = scope_held
        return no("scope", f"scope {pattern} held by {holder}", pattern=pattern, holder=holder)
    if budget_spent is not None:
        return no("budget", budget_spent.text(), **budget_spent.to_json())
    running = [a for a in active if a.status in ACTIVE and a.id != agent.id]
    if agent.batch and agent.batch_width:
        mates = sum(1 for a in running if a.batch == agent.batch)
        if mates >= agent.batch_width:
            return no(
                "batch",
                f"batch {agent.batch}: {mates} of its tasks running (width {agent.batch_width})",
                batch=agent.batch,
                width=agent.batch_width,
            )
    limit = config.supervisor.max_agents
    if len(running) >= limit:
        return no("capacity", f"max_agents {limit} reached", limit=limit)
    if profile is not None and profile.max_concurrent:
        same = sum(1 for a in running if a.agent == agent.agent)
        if same >= profile.max_concurrent:
            return no(
                "profile",
                f"profile {agent.agent}: max_concurrent {profile.max_concurrent}",
                profile=agent.agent,
                limit=profile.max_concurrent,
            )
    if reading is not None:
        res = config.resources
        zone = system_zone(reading, res)
        if zone == DANGER:
            if reading.ram >= res.ram_danger:
                return no(
                    "resources",
                    f"RAM {reading.ram:.0f}% >= danger {res.ram_danger:.0f}%",
                    resource="ram",
                    value=round(reading.ram, 1),
                    limit=res.ram_danger,
                )
            return no(
                "resources",
                f"CPU {reading.cpu:.0f}% >= danger {res.cpu_danger:.0f}%",
                resource="cpu",
                value=round(reading.cpu, 1),
                limit=res.cpu_danger,
            )
        if zone == WARNING and last_start_at is not None and now - last_start_at < res.warning_interval:
            wait = res.warning_interval - (now - last_start_at)
            return no(
                "warning",
                f"warning zone (CPU {reading.cpu:.0f}%, RAM {reading.ram:.0f}%): next start in {wait:.0f}s",
                until=last_start_at + res.warning_interval,
                cpu=round(reading.cpu, 1),
                ram=round(reading.ram, 1),
            )
    if ahead:
        plural = "s" if len(ahead) != 1 else ""
        return no(
            "order",
            f"behind {len(ahead)} queued agent{plural} of equal or higher priority",
            ahead=[a.id for a in ahead],
        )
    return Decision(True)


__all__ = ["OWN_KINDS", "Decision", "admit", "ahead_of", "dependency_state", "no", "priority_key", "waits_on_itself"]
