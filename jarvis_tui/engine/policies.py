"""Supervision policies as pure decisions: the clock, the readings and the dice are arguments.

Nothing here touches tmux, git, psutil or the registry. :mod:`.overseer` feeds these functions
what one engine tick observed and carries out what they decide, so every rule can be tested
with a fake clock and made-up readings.

- retries: exponential backoff with jitter, capped; attempts that die within ``min_uptime``
  count double against ``max_attempts`` (the crash-loop guard). Only ``failed`` attempts are
  retried automatically, never ``fired`` ones.
- watch: ``max_runtime`` (fire: timeout), ``stall_timeout`` (flag stalled; with
  ``fire_stalled`` fire: unresponsive), ``max_rss_mb``/``max_cpu_percent`` sustained for
  ``runaway_grace`` (fire: runaway).
- pressure: above ``[resources] emergency_ram``, fire the lowest-priority, most recently
  started agent, one at a time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import Profile
from .models import FAILED, RUNNING, WAITING, WORKING, Agent
from .resources import SystemReading, TreeUsage
from .vocabulary import priority_rank

JITTER = 0.2  # backoff delays vary by +-20% so a burst of failures does not retry in lockstep
STALLED_PREFIX = "stalled: "  # status_reason of a flagged agent (stalled is not a status)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    """One automatic decision about one agent, with the values that caused it."""

    kind: str  # timeout, runaway, stalled, unstalled, pressure
    note: str  # one human line, e.g. "ran 3605s > max_runtime 3600s"
    data: dict[str, Any] = field(default_factory=dict)  # the reading behind it (the event payload)
    fire: str | None = None  # the fire reason, when the verdict stops the agent


# --------------------------------------------------------------------------- retries


def backoff_delay(
    retry_number: int, base: float, cap: float, *, rand: Callable[[], float] = random.random, jitter: float = JITTER
) -> float:
    """Seconds before retry ``retry_number`` (1 = the first retry): base * 2^(n-1), +-jitter, <= cap.

    ``cap <= 0`` means uncapped; ``base <= 0`` means retry at once.
    """
    if base <= 0:
        return 0.0
    raw = base * 2.0 ** min(max(0, retry_number - 1), 60)
    jittered = raw * (1.0 + jitter * (2.0 * rand() - 1.0))
    return max(0.0, min(cap, jittered) if cap > 0 else jittered)


def died_young(attempt: Agent, min_uptime: float) -> bool:
    """Did a failed attempt die within ``min_uptime`` seconds of starting (a crash loop)?"""
    if attempt.status != FAILED or min_uptime <= 0:
        return False
    if attempt.started_at is None:  # never got going at all
        return True
    if attempt.ended_at is None:
        return False
    return attempt.ended_at - attempt.started_at < min_uptime


def attempts_used(attempts: Iterable[Agent], min_uptime: float) -> int:
    """Attempts counted against ``max_attempts``: one each, two for a crash-loop failure."""
    return sum(2 if died_young(a, min_uptime) else 1 for a in attempts)


def effective_max_attempts(agent: Agent, profile: Profile | None) -> int:
    if agent.max_attempts:
        return agent.max_attempts
    return profile.max_attempts if profile is not None else 1


@dataclass(frozen=True)
class RetryPlan:
    retry: bool
    failed_id: str
    next_attempt: int
    used: int  # attempts counted so far (crash-loop failures count double)
    max_attempts: int
    delay: float  # seconds of backoff before the next attempt may start
    crash_loop: bool  # the failed attempt died within min_uptime
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "retry": self.retry,
            "next_attempt": self.next_attempt,
            "used": self.used,
            "max_attempts": self.max_attempts,
            "delay": round(self.delay, 3),
            "crash_loop": self.crash_loop,
        }


def plan_retry(
    attempts: Sequence[Agent], profile: Profile | None, *, rand: Callable[[], float] = random.random
) -> RetryPlan | None:
    """Should a task whose latest attempt failed get another one, and when?

    ``None`` when the latest attempt did not fail (done, fired, still going: never retried).
    """
    if not attempts:
        return None
    latest = max(attempts, key=lambda a: a.attempt)
    if latest.status != FAILED:
        return None
    min_uptime = profile.min_uptime if profile is not None else 0.0
    limit = effective_max_attempts(latest, profile)
    used = attempts_used(attempts, min_uptime)
    young = died_young(latest, min_uptime)
    nxt = latest.attempt + 1
    why = (
        f" (crash loop: attempt {latest.attempt} died within min_uptime {min_uptime:g}s, counted twice)"
        if young
        else ""
    )
    if used >= limit:
        note = f"no retry: {used} of max_attempts {limit} used{why}"
        return RetryPlan(False, latest.id, nxt, used, limit, 0.0, young, note)
    base = profile.backoff if profile is not None else 0.0
    cap = profile.backoff_max if profile is not None else 0.0
    delay = backoff_delay(latest.attempt, base, cap, rand=rand)
    note = f"retry {nxt}/{limit} in {math.ceil(delay)}s (backoff){why}"
    return RetryPlan(True, latest.id, nxt, used, limit, delay, young, note)


# --------------------------------------------------------------------------- watch


def check_timeout(agent: Agent, profile: Profile, now: float) -> Verdict | None:
    """``max_runtime``: a running agent past it is fired as ``timeout``."""
    if profile.max_runtime <= 0 or agent.status not in RUNNING or agent.started_at is None:
        return None
    runtime = now - agent.started_at
    if runtime <= profile.max_runtime:
        return None
    return Verdict(
        "timeout",
        f"ran {runtime:.0f}s > max_runtime {profile.max_runtime:g}s",
        {"rule": "max_runtime", "runtime": round(runtime, 1), "max_runtime": profile.max_runtime},
        fire="timeout",
    )


def silent_for(agent: Agent, now: float) -> float | None:
    """Seconds since the agent last printed or sent a heartbeat (or started)."""
    last = max(filter(None, (agent.last_output_at, agent.heartbeat_at, agent.started_at)), default=None)
    return None if last is None else max(0.0, now - last)


def waiting_for_input(agent: Agent) -> bool:
    """A question on screen, or the agent said it waits or is idle at its prompt (not merely
    silence, which the classifier also calls waiting): not stalled, a person's turn."""
    return agent.status == WAITING and agent.waiting_kind in ("question", "idle")


def is_stalled(agent: Agent) -> bool:
    return agent.stalled


def check_stall(agent: Agent, profile: Profile, now: float) -> Verdict | None:
    """``stall_timeout``: silent that long and not waiting for input -> flag (and maybe fire).

    Returns a ``stalled`` verdict once (when the flag goes up; with ``fire_stalled`` it also
    fires as ``unresponsive``), an ``unstalled`` one when output resumes, else ``None``.
    """
    if profile.stall_timeout <= 0 or agent.status not in RUNNING or waiting_for_input(agent):
        return None
    silent = silent_for(agent, now)
    flagged = is_stalled(agent)
    if silent is not None and silent >= profile.stall_timeout:
        if flagged and not profile.fire_stalled:
            return None
        data = {
            "rule": "stall_timeout",
            "silent": round(silent, 1),
            "stall_timeout": profile.stall_timeout,
            "last_output_at": agent.last_output_at,
            "heartbeat_at": agent.heartbeat_at,
        }
        return Verdict(
            "stalled",
            f"silent {silent:.0f}s >= stall_timeout {profile.stall_timeout:g}s",
            data,
            fire="unresponsive" if profile.fire_stalled else None,
        )
    if flagged and agent.status == WORKING:
        return Verdict(
            "unstalled",
            f"output again after {STALLED_PREFIX.strip()} flag",
            {"rule": "stall_timeout", "silent": None if silent is None else round(silent, 1)},
        )
    return None


class RunawayTracker:
    """``max_rss_mb`` / ``max_cpu_percent`` sustained for ``runaway_grace`` -> fire ``runaway``.

    Remembers, per agent, since when its process tree has been over a limit; a reading under
    every limit resets it, so one spike is forgiven.
    """

    def __init__(self) -> None:
        self.over_since: dict[str, float] = {}

    def update(self, agent: Agent, profile: Profile, usage: TreeUsage | None, now: float) -> Verdict | None:
        if profile.max_rss_mb <= 0 and profile.max_cpu_percent <= 0:
            self.over_since.pop(agent.id, None)
            return None
        if usage is None:  # no reading this tick: neither evidence for nor against
            return None
        rss_mb = usage.rss / MIB
        over: list[str] = []
        if profile.max_rss_mb > 0 and rss_mb > profile.max_rss_mb:
            over.append(f"RSS {rss_mb:.0f} MB > max_rss_mb {profile.max_rss_mb:g}")
        if profile.max_cpu_percent > 0 and usage.cpu > profile.max_cpu_percent:
            over.append(f"CPU {usage.cpu:.0f}% > max_cpu_percent {profile.max_cpu_percent:g}")
        if not over:
            self.over_since.pop(agent.id, None)
            return None
        since = self.over_since.setdefault(agent.id, now)
        if now - since < profile.runaway_grace:
            return None
        data = {
            "rule": "runaway",
            "rss_mb": round(rss_mb, 1),
            "cpu": round(usage.cpu, 1),
            "procs": usage.procs,
            "max_rss_mb": profile.max_rss_mb,
            "max_cpu_percent": profile.max_cpu_percent,
            "over_for": round(now - since, 1),
            "runaway_grace": profile.runaway_grace,
        }
        note = ", ".join(over) + f" for {now - since:.0f}s (runaway_grace {profile.runaway_grace:g}s)"
        return Verdict("runaway", note, data, fire="runaway")

    def forget(self, keep: Iterable[str]) -> None:
        """Drop agents that are no longer running."""
        keep = set(keep)
        for agent_id in [a for a in self.over_since if a not in keep]:
            del self.over_since[agent_id]


# --------------------------------------------------------------------------- pressure


def pressure_victim(
    agents: Iterable[Agent],
    reading: SystemReading,
    emergency_ram: float,
    *,
    now: float,
    last_fire_at: float | None,
    cooldown: float,
) -> tuple[Agent, Verdict] | None:
    """Above ``emergency_ram``: the lowest-priority, most recently started running agent.

    One at a time: after a pressure fire, nothing more until ``cooldown`` seconds have passed
    (the smoothing window), so the reading can show what the last fire freed.
    """
    if emergency_ram <= 0 or reading.ram < emergency_ram:
        return None
    if last_fire_at is not None and now - last_fire_at < cooldown:
        return None
    running = [a for a in agents if a.status in RUNNING]
    if not running:
        return None
    victim = max(running, key=lambda a: (priority_rank(a.priority), a.started_at or 0.0, a.created_at))
    data = {
        "rule": "emergency_ram",
        "ram": round(reading.ram, 1),
        "cpu": round(reading.cpu, 1),
        "emergency_ram": emergency_ram,
        "priority": victim.priority,
        "started_at": victim.started_at,
    }
    note = f"RAM {reading.ram:.0f}% >= emergency_ram {emergency_ram:g}%; lowest priority ({victim.priority}), most recently started"
    return victim, Verdict("pressure", note, data, fire="pressure")


__all__ = [
    "STALLED_PREFIX",
    "RetryPlan",
    "RunawayTracker",
    "Verdict",
    "attempts_used",
    "backoff_delay",
    "check_stall",
    "check_timeout",
    "died_young",
    "effective_max_attempts",
    "is_stalled",
    "plan_retry",
    "pressure_victim",
    "silent_for",
    "waiting_for_input",
]
