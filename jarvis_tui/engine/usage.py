"""Tokens and cost of every agent, kept current by the engine tick (the lease holder).

Every few seconds, for each running agent (and once more for each that ended since): read
what its transcripts gained (:mod:`.transcripts`, from the offsets kept in the registry's
``usage_state`` table), price it (:mod:`.pricing`), and write the agent's token and cost
columns, its reading state and the day's spending in ONE transaction, so a crash cannot count
a line twice. An agent without a readable transcript, or whose model has no price, gets an
estimate (``cost_weight`` x hours) that says why.

The day's spending (``spend``: USD per local day and profile) grows by each change of an
agent's cost, so the daily budgets (:mod:`.budgets`) need no scan of history.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import pricing, transcripts
from .budgets import day_of, marks
from .lifecycle import ACTIVE
from .models import Agent, Tokens
from .presets import HOME_VARIABLES
from .registry import Registry
from .schema import ATTEMPT_FIELDS

if TYPE_CHECKING:
    from .config import Profile
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.usage")

INTERVAL = 3.0  # seconds between passes of the engine tick
# A cost estimate (cost_weight x hours) grows every second: it is written once it moved by this
# much (USD; what the table shows), and exactly at the agent's last pass, instead of every
# agent's row at every pass.
ESTIMATE_STEP = 0.01


@dataclass(frozen=True)
class Reading:
    """One agent's usage after a pass: what to write, and whether anything changed."""

    agent: Agent
    fields: dict[str, Any]
    state: dict[str, Any] | None  # None: nothing to store
    delta: float  # change of its cost (USD), added to today's spending


def due(sup: Supervisor) -> list[Agent]:
    """Agents to read now: every started one still running, and each ended one not read since."""
    ended = sup.registry.ids(
        "started_at IS NOT NULL AND ended_at IS NOT NULL AND (cost_at IS NULL OR cost_at < ended_at)"
    )
    agents = [a for a in sup.registry.agents(statuses=ACTIVE, include_removed=True) if a.started_at]
    return agents + [sup.registry.get(agent_id) for agent_id in ended]


def where(sup: Supervisor, agent: Agent, profile: Profile | None, now: float) -> transcripts.Where:
    homes = launched_homes(sup, agent)
    if homes is None:  # no spec (an adopted agent): as it would be started from here
        homes = {name: os.environ[name] for name in HOME_VARIABLES if name in os.environ}
        if profile is not None:
            homes.update({k: v for k, v in profile.env.items() if k in HOME_VARIABLES})
    return transcripts.Where(
        worktree=agent.worktree or str(sup.paths.worktree(agent.id)),
        session_dir=str(sup.paths.session_dir(agent.id)),
        agent_id=agent.id,
        started_at=agent.started_at or now,
        now=now,
        homes=homes,
    )


def launched_homes(sup: Supervisor, agent: Agent) -> dict[str, str] | None:
    """Where the agent writes its transcripts: the homes (``CLAUDE_CONFIG_DIR``...) in the
    environment it was started with, from its spec. Not this process's: the CLI that spawned it
    may have had ``CLAUDE_CONFIG_DIR`` set and the engine reading its transcripts not. A spec is
    written once per attempt, so it is read once (keyed by its path and modification time)."""
    path = sup.paths.spec(agent.id)
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return None
    seen: dict[tuple[str, int], dict[str, str]] = sup.cache.setdefault("launched_homes", {})
    homes = seen.get(key)
    if homes is None:
        try:
            env = json.loads(path.read_text(encoding="utf-8")).get("env") or {}
        except (OSError, ValueError, AttributeError) as exc:  # unreadable: the fallback reads as before
            log.warning("spec of %s unreadable: %s", agent.id, exc)
            return None
        homes = {name: str(env[name]) for name in HOME_VARIABLES if name in env}
        if len(seen) > 4096:  # ended agents' entries: never needed again
            seen.clear()
        seen[key] = homes
    return homes


def load_state(registry: Registry, agent_id: str) -> dict[str, Any] | None:
    row = registry.conn.execute("SELECT state FROM usage_state WHERE attempt_id = ?", (agent_id,)).fetchone()
    return json.loads(row["state"]) if row else None


def read(sup: Supervisor, agent: Agent, now: float) -> Reading | None:
    """Read one agent's transcripts and price them (file I/O only; nothing written)."""
    profile = sup.config.profiles.get(agent.agent)
    fmt = profile.transcripts if profile is not None else ""
    state = load_state(sup.registry, agent.id) if fmt else None
    if fmt and (state is None or state.get("format") != fmt):
        state = transcripts.new_state(fmt)
    changed = transcripts.update(state, where(sup, agent, profile, now)) if state is not None else False
    found = transcripts.totals(state) if state is not None else None
    models = found.models if found is not None else {}
    hours = (agent.runtime(now) or 0.0) / 3600.0
    weight = profile.cost_weight if profile is not None else 1.0
    if not changed and agent.cost_source == "transcript" and agent.tokens is not None:
        price = None  # nothing new: the cost stands
    elif found is not None and (models or found.tool_cost is not None):
        price = pricing.price(models, found.usd, found.unpriced, found.tool_cost)
        if price.usd is None:
            price = pricing.estimate(weight, hours, price.note)
    else:
        why = "no transcript found yet" if fmt else "no transcript for this profile"
        price = pricing.estimate(weight, hours, why)
    final = agent.ended_at is not None  # its last pass: exact, and marked read (cost_at)
    fields: dict[str, Any] = {"cost_at": now} if final else {}
    if models:
        sums = [sum(counts[i] for counts in models.values()) for i in range(4)]
        tokens = Tokens(input=sums[0], output=sums[1], cache_read=sums[2], cache_write=sums[3])
        if tokens != agent.tokens:
            fields.update(
                tokens_input=tokens.input,
                tokens_output=tokens.output,
                tokens_cache_read=tokens.cache_read,
                tokens_cache_write=tokens.cache_write,
            )
    delta = 0.0
    if price is not None and price.usd is not None:
        delta = price.usd - (agent.cost_usd or 0.0)
        estimate = price.source == "estimate" and not final  # (its note names the hours: it moves too)
        step = ESTIMATE_STEP if estimate else 1e-7
        noted = agent.cost_note != price.note and not estimate
        # ...but a budget's warning or limit crossed is written now: a $0.001 budget is not a cent's.
        before = agent.cost_usd or 0.0
        crossed = estimate and any(
            before < mark <= price.usd for mark in marks(agent, profile, sup.config.budgets.warn_at)
        )
        if abs(delta) >= step or agent.cost_source != price.source or noted or crossed:
            fields.update(cost_usd=price.usd, cost_source=price.source, cost_note=price.note)
        else:
            delta = 0.0  # not written: counted when it is (nothing is lost, only deferred)
    return Reading(agent, fields, state if changed else None, delta)


def update(sup: Supervisor, now: float) -> list[Reading]:
    """One pass over the agents that are due; returns what changed (tokens or cost)."""
    readings = []
    for agent in due(sup):
        try:
            reading = read(sup, agent, now)
        except Exception:  # one unreadable transcript must not stop the others' accounting
            log.exception("%s: reading its usage failed", agent.id)
            continue
        if reading is not None and (reading.fields or reading.state is not None):
            readings.append(reading)
    if not readings:
        return []  # nothing moved: no write (a write makes every reader decode the rows again)
    day = day_of(now)
    with sup.registry.transaction() as conn:
        for r in readings:
            if r.fields:
                sup.registry.write_row(conn, r.agent.id, r.fields, columns=ATTEMPT_FIELDS)
            if r.state is not None:
                conn.execute(
                    "INSERT INTO usage_state (attempt_id, state) VALUES (?, ?) ON CONFLICT(attempt_id) "
                    "DO UPDATE SET state = excluded.state",
                    (r.agent.id, json.dumps(r.state)),
                )
            if r.delta:
                conn.execute(
                    "INSERT INTO spend (day, profile, usd) VALUES (?, ?, ?) ON CONFLICT(day, profile) "
                    "DO UPDATE SET usd = usd + excluded.usd",
                    (day, r.agent.agent, r.delta),
                )
    return [r for r in readings if set(r.fields) - {"cost_at"}]


__all__ = ["INTERVAL", "Reading", "due", "load_state", "read", "update", "where"]
