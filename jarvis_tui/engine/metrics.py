"""Per-profile metrics from the registry: ``jarvis stats`` and the dashboard's metrics view.

Counted per attempt (a retry is a new dispatch), removed agents included: metrics are history.

- ``dispatched``: attempts that were started (got a worktree and a session, or tried to)
- ``done`` / ``failed`` / ``fired`` (+ ``fired_by_reason``), ``running``, ``queued``, ``blocked``
- ``merged``: done attempts whose work was merged (counted in ``done`` too)
- ``success_rate``: done / (done + failed + fired), ``None`` before anything ended
- ``median_time_to_done`` / ``mean_time_to_done``: seconds from start to done, done attempts only
- ``hours``: run time of every started attempt (a running one up to now)
- ``cost``: the profile's ``cost_weight`` x ``hours``
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from .config import Config
from .models import ACTIVE, BLOCKED, DONE, FAILED, FIRED, MERGED, QUEUED
from .registry import Registry


def _empty(name: str, cost_weight: float, configured: bool) -> dict[str, Any]:
    return {
        "profile": name, "configured": configured, "cost_weight": cost_weight,
        "dispatched": 0, "retries": 0, "running": 0, "queued": 0, "blocked": 0,
        "done": 0, "merged": 0, "failed": 0, "fired": 0, "fired_by_reason": {},
        "success_rate": None, "median_time_to_done": None, "mean_time_to_done": None,
        "hours": 0.0, "cost": 0.0,
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
    for name, row in rows.items():
        ended = row["done"] + row["failed"] + row["fired"]
        row["success_rate"] = round(row["done"] / ended, 4) if ended else None
        times = to_done.get(name, [])
        if times:
            row["median_time_to_done"] = round(statistics.median(times), 3)
            row["mean_time_to_done"] = round(statistics.fmean(times), 3)
        row["hours"] = round(row["hours"], 6)
        row["cost"] = round(row["cost_weight"] * row["hours"], 6)
    return list(rows.values())


__all__ = ["profile_stats"]
