"""Recovery: finish or undo what a process that died mid-operation left behind.

Reconcile hands over every agent held by a dead claim (the holder's pid is gone) and every
``starting`` agent without a claim. The rules, per interrupted operation:

- start: a live session is adopted (``working``); an exit already recorded is recorded; a
  fire asked for meanwhile is carried out; with no session, the half-made worktree is
  preserved (if it holds anything) and removed, and the agent is ``failed`` ("start
  interrupted"), freeing its slot.
- fire: the fire is finished with the reason and note it recorded.
- remove: the removal is finished.
- anything else (retry, merge, check): the claim is released; those operations are
  compare-and-swap on refs and rows, so a half-done one changed nothing that matters.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import claims
from .errors import Busy, SupervisorError
from .git import worktrees
from .lifecycle import Event
from .models import ACTIVE, FIRED, STARTING, Agent, Claim
from .observe import Observation

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.recovery")


def recover(sup: Supervisor, agent: Agent, obs: Observation | None) -> Agent | None:
    """Take over the dead claim on ``agent`` and settle it; None if someone else is at it.
    ``obs`` (what tmux says) is needed for a ``starting`` agent only."""
    old = agent.claim
    op = old.op if old else "start"
    try:
        claim = claims.take(sup.registry, agent.id, "recover", now=sup.clock(), data=old.data if old else {})
    except Busy:
        return None  # another process took it over first
    holder = f"pid {old.pid}" if old else "an unknown process"
    log.warning("%s: recovering the %s that %s left unfinished (%s)", agent.id, op, holder, agent.status)
    sup.registry.add_event("recovered", agent.id, agent.task_id, op=op, dead_pid=old.pid if old else None)
    try:
        agent = sup.registry.get(agent.id)
        if agent.status == STARTING:
            return _start(sup, agent, claim, obs, holder) if obs is not None else agent
        if op == "fire" and agent.status == FIRED:  # it died after recording the fire
            from .stop import retire

            return retire(sup, agent)
        if op == "fire":
            from .stop import finish_requested_fire

            return finish_requested_fire(sup, agent, claim, claim.data, default_reason="unresponsive")
        if op == "remove":
            from .cleanup import finish_remove

            return finish_remove(sup, agent)
        return agent
    except SupervisorError as exc:
        log.error("%s: recovery of an interrupted %s failed: %s", agent.id, op, exc)
        return None
    finally:
        claims.release(sup.registry, agent.id, claim)


def _start(sup: Supervisor, agent: Agent, claim: Claim, obs: Observation, holder: str) -> Agent | None:
    from .stop import finish_requested_fire, preserve, remove_worktree

    if agent.stop_request:
        if obs.pane is not None and obs.pane.pid:
            agent.pid = obs.pane.pid
        return finish_requested_fire(sup, agent, claim, agent.stop_request)
    now = sup.clock()
    if obs.pane is not None:  # the session exists: the start got that far
        fields: dict[str, Any] = {
            "pane_id": obs.pane.pane_id,
            "pid": obs.pane.pid,
            "started_at": agent.started_at or now,
            "base_commit": agent.base_commit or _base(sup, agent),
            "queue_reason": None,
            "queue_kind": None,
            "queue_data": None,
        }
        if obs.exit_code is not None:
            event = Event.EXITED_OK if obs.exit_code == 0 else Event.EXITED_ERROR
            return sup.transition(
                agent,
                event,
                reason=f"exited {obs.exit_code} (start finished by recovery)",
                claim=claim,
                exit_code=obs.exit_code,
                ended_at=obs.ended_at or now,
                **fields,
            )
        return sup.transition(
            agent, Event.LAUNCHED, reason=f"adopted after {holder} died while starting it", claim=claim, **fields
        )
    ref, problem = preserve(
        sup, agent, f"refs/jarvis/kept/{agent.id}", f"jarvis: files of {agent.id} when its start was interrupted"
    )
    if problem is None:
        remove_worktree(sup, agent)
    reason = f"start interrupted: {holder} died before the session existed"
    return sup.transition(
        sup.registry.get(agent.id),
        Event.START_INTERRUPTED,
        reason=reason,
        claim=claim,
        ended_at=now,
        preserved_ref=ref,
        tmux_session=None,
    )


def _base(sup: Supervisor, agent: Agent) -> str | None:
    try:
        return worktrees.resolve_commit(sup.repo, sup.config.supervisor.base)
    except worktrees.WorktreeError:
        return None


def recover_idle(sup: Supervisor) -> list[Agent]:
    """Dead claims on agents without a session (reconcile's tick covers the active ones): a
    fire of a queued or held task, or a retry, removal, merge or check of an ended agent,
    whose process died. One query per tick, which almost always finds nothing."""
    marks = ", ".join("?" * len(ACTIVE))
    ids = sup.registry.ids(f"claim_token IS NOT NULL AND status NOT IN ({marks})", tuple(sorted(ACTIVE)))
    settled: list[Agent] = []
    for agent_id in ids:
        agent = sup.registry.get(agent_id)
        if agent.claim is None or agent.status in ACTIVE or claims.alive(agent.claim, sup.clock()):
            continue  # released meanwhile, started, or its holder is alive and at work
        recovered = recover(sup, agent, None)
        if recovered is not None and recovered.status != agent.status:
            settled.append(recovered)
    return settled


__all__ = ["recover", "recover_idle"]
