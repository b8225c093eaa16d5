"""Reconcile: bring every active agent's status in line with what was observed.

:func:`classify` is pure: one agent, one observation, the clock -> the event that applies
(or none) and the fields to record. :func:`reconcile` applies it through
:func:`.lifecycle.transition`, a compare-and-set, so two processes reconciling at once
record each change once. Agents held by a live claim (a fire, a start...) are left to their
holder; agents held by a DEAD one are handed to :mod:`.recovery`, which finishes or undoes
what the dead process left half-done.
"""

from __future__ import annotations

import functools
import logging
import re
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


REPORT_GRACE = 2.0  # output this soon after an agent's report is the same moment (its last frame drawn)
REPORTED_KIND = {"waiting": "question", "idle": "idle"}  # reported state -> waiting_kind


def screen_lines(profile: Profile, screen: str) -> list[str]:
    """The last ``pattern_lines`` non-blank lines on screen: what the patterns look at."""
    return list(_bottom_lines(screen, profile.pattern_lines))


@functools.lru_cache(maxsize=256)
def _bottom_lines(screen: str, count: int) -> tuple[str, ...]:
    """Cached: a silent agent's screen is the same string tick after tick (observe keeps it)."""
    lines = [line for line in strip_ansi(screen).splitlines() if line.strip()]
    return tuple(lines[-count:])


def waiting_line(profile: Profile, screen: str) -> str | None:
    """The line near the bottom of the screen that matches a waiting pattern (a question)."""
    return _matching(screen_lines(profile, screen), profile.compiled_waiting_patterns())


def busy_line(profile: Profile, screen: str) -> str | None:
    """The line near the bottom of the screen that says the agent is busy (a spinner, "esc to interrupt")."""
    return _matching(screen_lines(profile, screen), profile.compiled_busy_patterns())


def _matching(lines: list[str], patterns: list[re.Pattern[str]]) -> str | None:
    for line in lines:
        for pattern in patterns:
            if pattern.search(line):
                return line
    return None


def report_in_force(agent: Agent, obs: Observation) -> bool:
    """Does the agent's own state report still hold? Output that came after it (beyond the
    grace of its last frame) means the world moved on: it no longer pins a stale state."""
    if agent.reported_state is None or agent.reported_state_at is None:
        return False
    return obs.last_output_at is None or obs.last_output_at <= agent.reported_state_at + REPORT_GRACE


def _waiting(agent: Agent, kind: str, reason: str, source: str) -> Verdict:
    fields = {"waiting_kind": kind, "status_source": source}
    if agent.status == WORKING:
        return Verdict(Event.ASKS, reason, fields)
    if agent.waiting_kind != kind or agent.status_reason != reason or agent.status_source != source:
        return Verdict(None, reason, fields)
    return Verdict(None)


def _working(agent: Agent, reason: str, source: str) -> Verdict:
    if agent.status == WAITING:
        return Verdict(Event.RESUMED, reason, {"waiting_kind": None, "status_source": source})
    return Verdict(None, None, {"status_source": source} if agent.status_source != source else {})


def classify(agent: Agent, obs: Observation, profile: Profile | None, now: float) -> Verdict:
    """What one observation means for one running agent (``starting`` is recovery's business).

    Precedence: how it ended (``exit``), then the agent's own report (``report``: done or
    failed, then a working / waiting / idle state while no later output contradicts it),
    then its screen (``screen``: a waiting pattern, then a busy pattern), then silence
    (``silence``: nothing for ``waiting_after`` seconds); else it works (``screen``).
    """
    summary = f": {agent.summary}" if agent.summary else ""
    ended = {"waiting_kind": None, "status_source": "exit"}
    if obs.exit_code is not None:
        fields = {"exit_code": obs.exit_code, "ended_at": obs.ended_at or now, **ended}
        if obs.exit_code == 0 and agent.reported_status != FAILED:
            return Verdict(Event.EXITED_OK, "exited 0", fields)
        if obs.exit_code == 0:
            return Verdict(Event.REPORTED_FAILED, "reported failed" + summary, {**fields, "status_source": "report"})
        return Verdict(Event.EXITED_ERROR, obs.exit_note or describe_exit(obs.exit_code), fields)
    if obs.pane is None:
        return Verdict(
            Event.LOST, "tmux session vanished (server killed or machine restarted)", {"ended_at": now, **ended}
        )
    if obs.pane.dead:
        return Verdict(
            Event.LOST,
            "agent ended without recording an exit code (wrapper killed)",
            {"ended_at": now, "exit_code": obs.pane.dead_status, **ended},
        )
    reported = {"ended_at": now, "waiting_kind": None, "status_source": "report"}
    if agent.reported_status == DONE:
        return Verdict(Event.REPORTED_DONE, "reported done" + summary, reported)
    if agent.reported_status == FAILED:
        return Verdict(Event.REPORTED_FAILED, "reported failed" + summary, reported)
    if report_in_force(agent, obs):
        why = f": {agent.reported_state_reason}" if agent.reported_state_reason else ""
        state = str(agent.reported_state)
        if state in REPORTED_KIND:
            return _waiting(agent, REPORTED_KIND[state], f"reported {state}{why}"[:160], "report")
        return _working(agent, f"reported working{why}"[:160], "report")
    line = waiting_line(profile, obs.screen) if profile is not None and obs.screen else None
    if line is not None:
        return _waiting(agent, "question", f"asks: {line.strip()[:120]}", "screen")
    if profile is not None and obs.screen and busy_line(profile, obs.screen) is not None:
        return _working(agent, "busy on screen", "screen")
    last = max(filter(None, (obs.last_output_at, agent.heartbeat_at, agent.started_at)), default=None)
    if profile is not None and profile.waiting_after and last is not None and now - last > profile.waiting_after:
        reason = f"silent for {int(now - last)}s"
        if agent.status == WORKING:
            return Verdict(Event.SILENT, reason, {"waiting_kind": "silence", "status_source": "silence"})
        if agent.waiting_kind != "silence":
            return Verdict(None, reason, {"waiting_kind": "silence", "status_source": "silence"})
        return Verdict(None)
    return _working(agent, "working", "screen")


def reconcile(sup: Supervisor) -> list[Agent]:
    """Bring every active agent's status in line with reality. Returns the changed ones."""
    from . import checks  # late: checks -> reviewing -> ... would import us back

    checks.settle(sup)
    changed = recovery.recover_idle(sup)
    agents = sup.registry.agents(statuses=ACTIVE, include_removed=True)
    if not agents:
        return changed
    observations = observe(sup, agents)
    now = sup.clock()
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
                    sup.registry.write_row(
                        conn,
                        agent.id,
                        fields,
                        columns=ATTEMPT_FIELDS,
                        where="claim_token IS NULL AND status = ?",
                        params=(str(agent.status),),
                    )
            continue
        moved = sup.transition(agent, verdict.event, reason=verdict.reason, **fields)
        if moved is not None:
            changed.append(moved)
    return changed


__all__ = [
    "REPORT_GRACE",
    "Verdict",
    "busy_line",
    "classify",
    "describe_exit",
    "reconcile",
    "report_in_force",
    "waiting_line",
]
