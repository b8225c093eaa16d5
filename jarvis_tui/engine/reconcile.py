"""Reconcile: bring every active agent's status in line with what was observed.

:func:`classify` is pure: one agent, one observation, the clock -> the event that applies
(or none) and the fields to record. :func:`reconcile` applies it through
:func:`.lifecycle.transition`, a compare-and-set, so two processes reconciling at once
record each change once. Agents held by a live claim (a fire, a start...) are left to their
holder; agents held by a DEAD one are handed to :mod:`.recovery`, which finishes or undoes
what the dead process left half-done.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import claims, recovery
from .config import Profile
from .lifecycle import Event
from .logs import strip_ansi
from .models import ACTIVE, DONE, FAILED, STARTING, WAITING, WORKING, Agent
from .observe import Observation, observe
from .schema import ATTEMPT_FIELDS

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.reconcile")


@dataclass(frozen=True)
class Verdict:
    event: Event | None  # None: the status stays
    reason: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def describe_exit(code: int) -> str:
    """'exited with code 3', or 'killed by SIGHUP (exit code 129)' for the shell's 128+N."""
    if code > 128:
        try:
            return f"killed by {signal.Signals(code - 128).name} (exit code {code})"
        except ValueError:
            pass  # 128+N with no such signal N: an ordinary exit code after all
    return f"exited with code {code}"


def waiting_line(profile: Profile, screen: str) -> str | None:
    """The line of the last five on screen that matches a waiting pattern (a question)."""
    lines = [line for line in strip_ansi(screen).splitlines() if line.strip()]
    for line in lines[-5:]:
        for pattern in profile.compiled_waiting_patterns():
            if pattern.search(line):
                return line
    return None


def classify(agent: Agent, obs: Observation, profile: Profile | None, now: float) -> Verdict:
    """What one observation means for one running agent (``starting`` is recovery's business)."""
    summary = f": {agent.summary}" if agent.summary else ""
    if obs.exit_code is not None:
        fields = {"exit_code": obs.exit_code, "ended_at": obs.ended_at or now, "waiting_kind": None}
        if obs.exit_code == 0 and agent.reported_status != FAILED:
            return Verdict(Event.EXITED_OK, "exited 0", fields)
        if obs.exit_code == 0:
            return Verdict(Event.REPORTED_FAILED, "reported failed" + summary, fields)
        return Verdict(Event.EXITED_ERROR, obs.exit_note or describe_exit(obs.exit_code), fields)
    if obs.pane is None:
        return Verdict(Event.LOST, "tmux session vanished (server killed or machine restarted)",
                       {"ended_at": now, "waiting_kind": None})
    if obs.pane.dead:
        return Verdict(Event.LOST, "agent ended without recording an exit code (wrapper killed)",
                       {"ended_at": now, "exit_code": obs.pane.dead_status, "waiting_kind": None})
    if agent.reported_status == DONE:
        return Verdict(Event.REPORTED_DONE, "reported done" + summary, {"ended_at": now, "waiting_kind": None})
    if agent.reported_status == FAILED:
        return Verdict(Event.REPORTED_FAILED, "reported failed" + summary, {"ended_at": now, "waiting_kind": None})
    line = waiting_line(profile, obs.screen) if profile is not None and obs.screen else None
    if line is not None:
        reason = f"asks: {line.strip()[:120]}"
        if agent.status == WORKING:
            return Verdict(Event.ASKS, reason, {"waiting_kind": "question"})
        if agent.waiting_kind != "question" or agent.status_reason != reason:
            return Verdict(None, reason, {"waiting_kind": "question"})
        return Verdict(None)
    last = max(filter(None, (obs.last_output_at, agent.heartbeat_at, agent.started_at)), default=None)
    if profile is not None and profile.waiting_after and last is not None and now - last > profile.waiting_after:
        reason = f"silent for {int(now - last)}s"
        if agent.status == WORKING:
            return Verdict(Event.SILENT, reason, {"waiting_kind": "silence"})
        if agent.waiting_kind != "silence":
            return Verdict(None, reason, {"waiting_kind": "silence"})
        return Verdict(None)
    if agent.status == WAITING:
        return Verdict(Event.RESUMED, "working", {"waiting_kind": None})
    return Verdict(None)


def reconcile(sup: Supervisor) -> list[Agent]:
    """Bring every active agent's status in line with reality. Returns the changed ones."""
    from . import checks  # late: checks -> reviewing -> ... would import us back

    checks.settle(sup)
    agents = sup.registry.agents(statuses=ACTIVE, include_removed=True)
    if not agents:
        return []
    observations = observe(sup, agents)
    now = sup.clock()
    changed: list[Agent] = []
    for agent in agents:
        obs = observations[agent.id]
        if agent.claim is not None and claims.alive(agent.claim, now):
            continue  # its holder records the outcome
        if agent.claim is not None or agent.status == STARTING:
            recovered = recovery.recover(sup, agent, obs)
            if recovered is not None and recovered.status != agent.status:
                changed.append(recovered)
            continue
        verdict = classify(agent, obs, sup.config.profiles.get(agent.agent), now)
        fields = dict(verdict.fields)
        if obs.last_output_at and obs.last_output_at != agent.last_output_at:
            fields.setdefault("last_output_at", obs.last_output_at)
        if verdict.event is None:
            if verdict.reason is not None:
                fields["status_reason"] = verdict.reason
            if fields:
                with sup.registry.transaction() as conn:  # not while someone claims it
                    sup.registry.write_row(conn, agent.id, fields, columns=ATTEMPT_FIELDS,
                                           where="claim_token IS NULL AND status = ?", params=(str(agent.status),))
            continue
        moved = sup.transition(agent, verdict.event, reason=verdict.reason, **fields)
        if moved is not None:
            changed.append(moved)
    return changed


__all__ = ["Verdict", "classify", "describe_exit", "reconcile", "waiting_line"]
