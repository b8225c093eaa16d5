"""The words jarvis and its users share: priorities and fire reasons, each defined once.

The CLI's choices and help, the dashboard's fire dialog, the policies and the README all
read these tables.
"""

from __future__ import annotations

PRIORITIES = ("critical", "high", "medium", "low")

# Reasons a person (or an orchestrator) gives when firing an agent, with what each means.
FIRE_REASONS: dict[str, str] = {  # the fire dialog and ``jarvis fire --help`` show these
    "derailed": "went off the task",
    "obstinate": "ignores instructions and feedback",
    "dumb": "not up to this task",
    "unresponsive": "stuck, hung or silent",
    "corrupted": "broke its worktree, tools or output",
}

# Reasons the engine records when a policy stops an agent.
AUTO_FIRE_REASONS: dict[str, str] = {
    "timeout": "ran past max_runtime",
    "runaway": "process tree over max_rss_mb / max_cpu_percent for runaway_grace",
    "pressure": "system RAM over emergency_ram: lowest priority, most recently started",
    "stalled": "silent past stall_timeout",
    "budget": "spent its cost budget",
}


def priority_rank(priority: str) -> int:
    """0 for critical .. 3 for low (an unknown priority sorts last)."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


__all__ = ["AUTO_FIRE_REASONS", "FIRE_REASONS", "PRIORITIES", "priority_rank"]
