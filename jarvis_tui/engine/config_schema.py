"""What ``config.toml`` may hold: every key declared ONCE, as a dataclass field.

A field's type annotation is the TOML type it accepts, its ``key(...)`` metadata the bounds
and the one-line meaning. The loader (:mod:`.config`) derives the type checks, the bounds
checks, the unknown-key suggestions and the error locations from these declarations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DAY = 86_400.0


def key(default: Any, doc: str, *, min: float | None = None, max: float | None = None) -> Any:
    """A config key: its default, its one-line meaning and, for numbers, its bounds."""
    meta = {"doc": doc, "min": min, "max": max}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Profile:
    """One kind of worker (``[agents.NAME]``): how to start it and how to supervise it."""

    name: str  # the table's name, not a key
    command: tuple[str, ...] = key((), "argv of the agent; no shell; placeholders allowed")
    waiting_patterns: tuple[str, ...] = key((), "regexes that mean 'waiting for input' when on screen")
    env: dict[str, str] = key({}, "extra environment; placeholders allowed")
    model: str = key("", "the model it runs (shown, and used for pricing)")
    role: str = key("developer", "what it is for (shown)")
    cost_weight: float = key(1.0, "relative cost per hour (stats)", min=0, max=1e6)
    max_concurrent: int = key(0, "running at once of this profile (0: only max_agents)", min=0, max=10_000)
    waiting_after: float = key(120.0, "seconds of silence that count as waiting (0: off)", min=0, max=30 * DAY)
    max_attempts: int = key(1, "attempts in all, the first included", min=1, max=1000)
    backoff: float = key(10.0, "seconds before the first automatic retry; doubles", min=0, max=DAY)
    backoff_max: float = key(600.0, "cap of the retry backoff (0: uncapped)", min=0, max=30 * DAY)
    min_uptime: float = key(10.0, "an attempt that dies sooner counts double", min=0, max=DAY)
    max_runtime: float = key(0.0, "seconds; longer => fired as timeout (0: off)", min=0, max=365 * DAY)
    stall_timeout: float = key(0.0, "seconds silent => stalled flag (0: off)", min=0, max=30 * DAY)
    fire_stalled: bool = key(False, "also fire stalled agents as unresponsive")
    max_rss_mb: float = key(0.0, "process-tree RSS limit in MB (0: off)", min=0, max=1e9)
    max_cpu_percent: float = key(0.0, "process-tree CPU limit, % of one core (0: off)", min=0, max=1e6)
    runaway_grace: float = key(30.0, "seconds over a limit before runaway fires", min=0, max=DAY)
    check: tuple[str, ...] = key((), "argv of this profile's checks (overrides [review] check)")
    prompt_template: str = key(
        "", "what the agent is told: placeholders as in command, plus {task_prompt} (empty: the task's prompt alone)"
    )
    busy_patterns: tuple[str, ...] = key((), "regexes that mean 'busy' when on screen (beats silence)")
    pattern_lines: int = key(5, "how many of the screen's last non-blank lines the patterns look at", min=1, max=500)
    transcripts: str = key(
        "",
        "whose transcripts give its tokens: claude, codex, gemini, aider "
        "(empty: none, cost is estimated from cost_weight)",
    )
    max_cost: float = key(0.0, "USD one attempt may spend; more => fired as budget (0: off)", min=0, max=1e9)
    daily_budget: float = key(
        0.0, "USD this profile's agents may spend per day, then they queue (0: off)", min=0, max=1e9
    )

    def compiled_waiting_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.waiting_patterns]

    def compiled_busy_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.busy_patterns]


@dataclass(frozen=True)
class SupervisorConfig:
    """``[supervisor]``."""

    repo: Path = key(Path("."), "the git repository agents work on")
    base: str = key("HEAD", "branch or commit new worktrees start from")
    state_dir: Path = key(Path("."), "holds sessions/ (registry, logs) and worktrees/")
    tmux_socket: str = key("jarvis", "private tmux socket name (tmux -L NAME)")
    max_agents: int = key(5, "agents running at once; more are queued", min=1, max=10_000)
    default_agent: str = key("", "profile for spawn without --agent (default: the first)")
    kill_grace: float = key(5.0, "seconds between SIGTERM and SIGKILL when firing", min=0, max=600)
    checkout_workers: int = key(
        0,
        "processes git writes a new worktree's files with (0: one per CPU core; 1: one, git's default)",
        min=0,
        max=64,
    )


@dataclass(frozen=True)
class ResourcesConfig:
    """``[resources]``: zones safe < *_safe <= warning < *_danger <= danger (above 100: never)."""

    cpu_safe: float = key(60.0, "system CPU % where the warning zone starts", min=0, max=1000)
    cpu_danger: float = key(80.0, "system CPU % where the danger zone starts", min=0, max=1000)
    ram_safe: float = key(70.0, "system RAM % where the warning zone starts", min=0, max=1000)
    ram_danger: float = key(85.0, "system RAM % where the danger zone starts", min=0, max=1000)
    warning_interval: float = key(30.0, "warning zone: one start per this many seconds", min=0, max=DAY)
    window: float = key(10.0, "seconds of readings averaged", min=0, max=3600)
    emergency_ram: float = key(0.0, "RAM % above which the lowest-priority agent is fired (0: off)", min=0, max=100)


@dataclass(frozen=True)
class ReviewConfig:
    """``[review]``: checks of an agent's work, and watching agents for overlapping edits."""

    check: tuple[str, ...] = key((), "argv run by `jarvis check` in a copy of the agent's work (no shell)")
    check_on_done: bool = key(False, "run the check when an agent ends done")
    scan_interval: float = key(10.0, "seconds between scans for agents editing the same files (0: off)", min=0, max=DAY)


@dataclass(frozen=True)
class HooksConfig:
    """``[hooks]``."""

    on_status_change: tuple[str, ...] = key((), "argv run with one JSON event on stdin per status change")
    on_budget: tuple[str, ...] = key(
        (), "argv run with one JSON event on stdin when a budget reaches [budgets] warn_at, or is spent"
    )


TRANSCRIPT_FORMATS = ("claude", "codex", "gemini", "aider")
ROUTING_PREFERENCES = ("quality", "cost", "speed", "balanced")


@dataclass(frozen=True)
class BudgetsConfig:
    """``[budgets]``: money, in USD, priced from the agents' transcripts (or estimated)."""

    daily: float = key(
        0.0,
        "USD all agents may spend per day; once spent nothing new starts until the day rolls over (0: off)",
        min=0,
        max=1e9,
    )
    warn_at: float = key(0.8, "fraction of a budget that raises a warning (event, hook, dashboard)", min=0, max=1)


@dataclass(frozen=True)
class RoutingConfig:
    """``[routing]``: how ``spawn --agent auto`` picks a profile from the history of outcomes."""

    prefer: str = key("balanced", "what auto routing favours: quality, cost, speed or balanced")
    profiles: tuple[str, ...] = key((), "profiles auto routing may pick (empty: every configured one)")
    seed: int = key(0, "random seed of the exploration (0: a new one each time)", min=0, max=2**31)


# The tables of config.toml and the dataclass each one fills ([agents.*] is a table of Profiles).
SECTIONS: dict[str, type] = {
    "supervisor": SupervisorConfig,
    "resources": ResourcesConfig,
    "hooks": HooksConfig,
    "review": ReviewConfig,
    "budgets": BudgetsConfig,
    "routing": RoutingConfig,
}
TOP_KEYS = (*SECTIONS, "agents")

__all__ = [
    "DAY",
    "ROUTING_PREFERENCES",
    "SECTIONS",
    "TOP_KEYS",
    "TRANSCRIPT_FORMATS",
    "BudgetsConfig",
    "HooksConfig",
    "Profile",
    "ResourcesConfig",
    "ReviewConfig",
    "RoutingConfig",
    "SupervisorConfig",
    "key",
]
