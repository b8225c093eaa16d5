"""Per-profile metrics from the registry: ``jarvis stats`` and the dashboard's metrics view.

Counted per attempt (a retry is a new dispatch), removed agents included: metrics are history.

- ``dispatched``: attempts that were started (got a worktree and a session, or tried to)
- ``done`` / ``failed`` / ``fired`` (+ ``fired_by_reason``), ``running``, ``queued``, ``blocked``
- ``merged``: done attempts whose work was merged (counted in ``done`` too)
- ``success_rate``: done / (done + failed + fired), ``None`` before anything ended
- ``median_time_to_done`` / ``mean_time_to_done``: seconds from start to done, done attempts only
- ``hours``: run time of every started attempt (a running one up to now)
- ``cost``: the profile's ``cost_weight`` x ``hours`` (relative, as before)
- ``tokens`` / ``cost_usd``: summed from the agents' own columns (:mod:`.usage`); ``cost_source``
  is ``transcript`` when every agent's cost was priced from its transcript, else ``estimate``
- ``cost_per_success``: ``cost_usd`` over ``done``

:func:`by_kind` is what ``spawn --agent auto`` learns from (:func:`outcomes`), per task kind and
profile, and whether each kind got done faster alone or alongside other agents.
"""

from __future__ import annotations

import bisect
import statistics
import time
from typing import Any

from .config import Config
from .models import ACTIVE, BLOCKED, DONE, FAILED, FIRED, MERGED, QUEUED, Agent
from .registry import Registry
from .routing import NO_KIND, Outcome


def _empty(name: str, cost_weight: float, configured: bool) -> dict[str, Any]:
    return {
        "profile": name,
        "configured": configured,
        "cost_weight": cost_weight,
        "dispatched": 0,
        "retries": 0,
        "running": 0,
        "queued": 0,
        "blocked": 0,
        "done": 0,
        "merged": 0,
        "failed": 0,
        "fired": 0,
        "fired_by_reason": {},
        "success_rate": None,
        "median_time_to_done": None,
        "mean_time_to_done": None,
        "hours": 0.0,
        "cost": 0.0,
        "tokens": {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0},
        "cost_usd": 0.0,
        "cost_source": None,
        "cost_per_success": None,
    }


def profile_stats(registry: Registry, config: Config, *, now: float | None = None) -> list[dict[str, Any]]:
    """One dict per profile (configured ones first, in config order, then any seen only in history)."""
    now = time.time() if now is None else now
    rows: dict[str, dict[str, Any]] = {
        name: _empty(name, profile.cost_weight, True) for name, profile in config.profiles.items()
    }
    to_done: dict[str, list[float]] = {}
    for agent in registry.agents(include_removed=True):
        row = rows.get(agent.agent)
        if row is None:
            row = rows[agent.agent] = _empty(agent.agent, 1.0, False)
        if agent.attempt > 1:
            row["retries"] += 1
        if agent.started_at is not None or agent.tmux_session or agent.status in ACTIVE:
            row["dispatched"] += 1
        if agent.status in ACTIVE:
            row["running"] += 1
        elif agent.status == QUEUED:
            row["queued"] += 1
        elif agent.status == BLOCKED:
            row["blocked"] += 1
        elif agent.status == DONE:
            row["done"] += 1
            if agent.started_at is not None and agent.ended_at is not None:
                to_done.setdefault(agent.agent, []).append(agent.ended_at - agent.started_at)
        elif agent.status == MERGED:  # done, and its work is in the base: the success that matters
            row["done"] += 1
            row["merged"] += 1
            if agent.started_at is not None and agent.ended_at is not None:
                to_done.setdefault(agent.agent, []).append(agent.ended_at - agent.started_at)
        elif agent.status == FAILED:
            row["failed"] += 1
        elif agent.status == FIRED:
            row["fired"] += 1
            reason = agent.fires[-1].reason if agent.fires else "unknown"
            row["fired_by_reason"][reason] = row["fired_by_reason"].get(reason, 0) + 1
        runtime = agent.runtime(now)
        if runtime is not None and runtime > 0:
            row["hours"] += runtime / 3600.0
        if agent.tokens is not None:
            for key, value in agent.tokens.to_json().items():
                row["tokens"][key] += value
        if agent.cost_usd is not None:
            row["cost_usd"] += agent.cost_usd
            if row["cost_source"] != "estimate":
                row["cost_source"] = agent.cost_source
    for name, row in rows.items():
        ended = row["done"] + row["failed"] + row["fired"]
        row["success_rate"] = round(row["done"] / ended, 4) if ended else None
        times = to_done.get(name, [])
        if times:
            row["median_time_to_done"] = round(statistics.median(times), 3)
            row["mean_time_to_done"] = round(statistics.fmean(times), 3)
        row["hours"] = round(row["hours"], 6)
        row["cost"] = round(row["cost_weight"] * row["hours"], 6)
        row["cost_usd"] = round(row["cost_usd"], 6)
        row["cost_per_success"] = round(row["cost_usd"] / row["done"], 6) if row["done"] else None
    return list(rows.values())


# --------------------------------------------------------------------------- by kind (routing's table)


def failed_against(agent: Agent) -> bool:
    """Does this ended attempt count as a failure of its profile? Failed, or fired for any reason
    but system pressure (not its fault); fired before it started (cancelled) does not count."""
    if agent.status == FAILED:
        return True
    if agent.status != FIRED or agent.started_at is None:
        return False
    return not (agent.fires and agent.fires[-1].reason == "pressure")


def outcomes(registry: Registry) -> list[Outcome]:
    """Every ended attempt that counts, oldest first: the history routing learns from."""
    out = []
    for agent in registry.agents(include_removed=True):
        success = agent.status in (DONE, MERGED)
        if not success and not failed_against(agent):
            continue
        seconds = (
            (agent.ended_at - agent.started_at)
            if (success and agent.started_at is not None and agent.ended_at is not None)
            else None
        )
        out.append(
            Outcome(
                agent.agent, agent.kind or NO_KIND, success, seconds, agent.cost_usd, agent.started_at, agent.ended_at
            )
        )
    return out


class Concurrency:
    """How many agents ran at once over time: the mean, over any interval, in O(log n)."""

    def __init__(self, intervals: list[tuple[float, float]]) -> None:
        changes: dict[float, int] = {}
        for start, end in intervals:
            if end > start:
                changes[start] = changes.get(start, 0) + 1
                changes[end] = changes.get(end, 0) - 1
        self.times = sorted(changes)
        self.counts: list[int] = []  # running agents from times[i] to times[i+1]
        self.area: list[float] = [0.0]  # integral of the count up to times[i]
        count = 0
        for i, moment in enumerate(self.times):
            count += changes[moment]
            self.counts.append(count)
            if i + 1 < len(self.times):
                self.area.append(self.area[-1] + count * (self.times[i + 1] - moment))

    def integral(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t) - 1
        if i < 0:
            return 0.0
        return self.area[i] + self.counts[i] * (t - self.times[i])

    def others(self, start: float, end: float) -> float:
        """Mean number of OTHER agents running during [start, end] (this one excluded)."""
        if end <= start:
            return 0.0
        return max(0.0, (self.integral(end) - self.integral(start)) / (end - start) - 1.0)


ALONE = 0.5  # a task that had fewer than this many others running on average ran "alone"


def by_kind(registry: Registry) -> list[dict[str, Any]]:
    """Per kind: each profile's record (what auto routing learns from), and time to done when
    the task ran alone versus alongside others (mean concurrency during its run)."""
    history = outcomes(registry)
    runs = [
        (a.started_at, a.ended_at or time.time())
        for a in registry.agents(include_removed=True)
        if a.started_at is not None
    ]
    running = Concurrency([(s, e) for s, e in runs if e is not None])
    kinds: dict[str, list[Outcome]] = {}
    for outcome in history:
        kinds.setdefault(outcome.kind, []).append(outcome)
    rows = []
    for kind in sorted(kinds):
        items = kinds[kind]
        profiles = []
        for name in sorted({o.profile for o in items}):
            mine = [o for o in items if o.profile == name]
            wins = [o for o in mine if o.success]
            costs = [o.cost for o in mine if o.cost is not None]
            times = [o.seconds for o in wins if o.seconds is not None]
            profiles.append(
                {
                    "profile": name,
                    "attempts": len(mine),
                    "successes": len(wins),
                    "failures": len(mine) - len(wins),
                    "success_rate": round(len(wins) / len(mine), 4),
                    "median_time_to_done": round(statistics.median(times), 3) if times else None,
                    "cost_per_success": round(sum(costs) / len(wins), 6) if wins and costs else None,
                }
            )
        alone: list[float] = []
        together: list[float] = []
        shares: list[float] = []
        for o in items:
            if o.success and o.seconds is not None and o.started_at is not None and o.ended_at is not None:
                share = running.others(o.started_at, o.ended_at)
                shares.append(share)
                (alone if share < ALONE else together).append(o.seconds)
        rows.append(
            {
                "kind": None if kind == NO_KIND else kind,  # JSON null, as in the records; the table says (none)
                "profiles": profiles,
                "alone": {
                    "done": len(alone),
                    "median_time_to_done": round(statistics.median(alone), 3) if alone else None,
                },
                "alongside": {
                    "done": len(together),
                    "median_time_to_done": round(statistics.median(together), 3) if together else None,
                },
                "mean_concurrency": round(statistics.fmean(shares), 3) if shares else None,
            }
        )
    return rows


__all__ = ["ALONE", "Concurrency", "by_kind", "failed_against", "outcomes", "profile_stats"]
