"""Admission: may one more agent start now? Pure logic over plain values, no I/O.

Checked in this order, the first "no" becomes the agent's ``queue_reason``:
dependency, backoff time, ``max_agents``, the profile's ``max_concurrent``, resource zone
(danger: none; warning: one start per ``warning_interval``; safe: free).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .config import PRIORITIES, Config
from .models import ACTIVE, DONE, ENDED, Agent
from .resources import DANGER, SAFE, WARNING, SystemReading, system_zone


@dataclass(frozen=True)
class Decision:
    admit: bool
    reason: str | None = None  # why not (a queue_reason), or None
    block: bool = False  # a dependency failed: the agent can never start


# queue_reasons that concern only the agent itself (its dependency, its retry backoff, its
# profile's max_concurrent): while they hold, agents behind it in the queue may still start
# (an agent of another profile never delays it: the profile's slot frees with a global one).
# Any other "no" (max_agents, resources) stops the queue, so lower priorities never jump ahead.
_OWN_REASONS = ("waiting for ", "retry ", "profile ")


def waits_on_itself(reason: str) -> bool:
    return reason.startswith(_OWN_REASONS)


def priority_key(agent: Agent) -> tuple[int, float, str]:
    """Queue order: critical, high, medium, low; first come first served within one."""
    rank = PRIORITIES.index(agent.priority) if agent.priority in PRIORITIES else len(PRIORITIES)
    return (rank, agent.created_at, agent.id)


def dependency_state(agent: Agent, tasks_latest: dict[str, Agent]) -> Decision | None:
    if not agent.after_task_id:
        return None
    dep = tasks_latest.get(agent.after_task_id)
    if dep is None:
        return Decision(False, f"waiting for task {agent.after_task_id} (unknown)")
    if dep.status == DONE:
        return None
    if dep.status in ENDED:
        return Decision(False, f"dependency {dep.task_id} {dep.status}"
                        + (f" ({dep.status_reason})" if dep.status_reason else ""), block=True)
    return Decision(False, f"waiting for task {dep.task_id} ({dep.status})")


def admit(
    agent: Agent,
    config: Config,
    active: Iterable[Agent],
    *,
    now: float,
    reading: SystemReading | None = None,
    last_start_at: float | None = None,
    tasks_latest: dict[str, Agent] | None = None,
) -> Decision:
    dependency = dependency_state(agent, tasks_latest or {})
    if dependency is not None:
        return dependency
    profile = config.profiles.get(agent.agent)
    if agent.not_before is not None and now < agent.not_before:
        limit_attempts = agent.max_attempts or (profile.max_attempts if profile is not None else 1)
        return Decision(False, f"retry {agent.attempt}/{limit_attempts} in "
                               f"{math.ceil(agent.not_before - now)}s (backoff)")
    running = [a for a in active if a.status in ACTIVE and a.id != agent.id]
    limit = config.supervisor.max_agents
    if len(running) >= limit:
        return Decision(False, f"max_agents {limit} reached")
    if profile is not None and profile.max_concurrent:
        same = sum(1 for a in running if a.agent == agent.agent)
        if same >= profile.max_concurrent:
            return Decision(False, f"profile {agent.agent}: max_concurrent {profile.max_concurrent}")
    if reading is not None:
        res = config.resources
        zone = system_zone(reading, res)
        if zone == DANGER:
            if reading.ram >= res.ram_danger:
                return Decision(False, f"RAM {reading.ram:.0f}% >= danger {res.ram_danger:.0f}%")
            return Decision(False, f"CPU {reading.cpu:.0f}% >= danger {res.cpu_danger:.0f}%")
        if zone == WARNING and last_start_at is not None and now - last_start_at < res.warning_interval:
            wait = res.warning_interval - (now - last_start_at)
            return Decision(False, f"warning zone (CPU {reading.cpu:.0f}%, RAM {reading.ram:.0f}%): "
                                   f"next start in {wait:.0f}s")
    return Decision(True)


__all__ = ["Decision", "admit", "priority_key", "dependency_state", "waits_on_itself", "SAFE", "WARNING", "DANGER"]
