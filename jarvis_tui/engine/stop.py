"""Stopping agents: fire, and the steps every cleanup shares.

Fire: claim the agent (a second fire is refused; a dead firer's claim is taken over at
once), stop its WHOLE process tree (including ``setsid`` daemons found by their
``JARVIS_AGENT_ID`` tag), commit every file it left to ``refs/jarvis/fired/<id>``, record
the reason, then remove the worktree. The branch is kept. An agent whose start is in
progress gets a stop request instead; the start honours it and ends fired.

Nothing here runs a preserving git command in a folder that is not verifiably the agent's
worktree (:func:`.worktrees.verify`): a broken worktree is left in place, and said so.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import claims
from .errors import Busy, SupervisorError, UsageError
from .git import worktrees
from .lifecycle import Action, Event, require
from .models import ACTIVE, FIRED, PENDING, Agent, Claim
from .resources import process_tree, terminate
from .tmux import TmuxError
from .vocabulary import AUTO_FIRE_REASONS, FIRE_REASONS

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.stop")

START_WAIT = 600.0  # longest a fire waits for a start it asked to stop (a huge worktree)


def fire(sup: Supervisor, ident: str, reason: str, note: str = "", *, automatic: bool = False) -> Agent:
    """Stop the agent's whole process tree, preserve ALL its work to a ref, record why."""
    if reason not in FIRE_REASONS and not (automatic and reason in AUTO_FIRE_REASONS):
        raise UsageError(f"unknown fire reason {reason!r} (choose from {', '.join(FIRE_REASONS)})")
    agent = sup.get(ident)
    require(agent, Action.FIRE)
    request = {"reason": reason, "note": note, "automatic": automatic, "at": sup.clock()}
    deadline = time.monotonic() + START_WAIT
    while True:
        try:
            claim = claims.take(sup.registry, agent.id, "fire", now=sup.clock(), data=request)
            break
        except Busy as busy:
            if busy.op != "start" or time.monotonic() > deadline:
                raise
            claims.request_stop(sup.registry, agent.id, request)
            time.sleep(0.05)  # the start honours the request at its next step, or finishes first
            agent = sup.registry.get(agent.id)
            if agent.status == FIRED:
                return agent
    try:
        agent = sup.registry.get(agent.id)
        require(agent, Action.FIRE)  # it may have ended while we waited
        return finish_fire(sup, agent, claim, reason, note, automatic=automatic)
    finally:
        claims.release(sup.registry, agent.id, claim)


def finish_fire(
    sup: Supervisor, agent: Agent, claim: Claim, reason: str, note: str, *, automatic: bool = False
) -> Agent:
    """The fire itself, under ``claim``: stop, preserve, record, remove the worktree."""
    stop_processes(sup, agent)
    exit_code = agent.exit_code if agent.exit_code is not None else sup.read_exit(agent.id)[0]
    ref, problem = preserve(
        sup, agent, f"refs/jarvis/fired/{agent.id}", f"jarvis: work of {agent.id} when fired ({reason})\n\n{note}"
    )
    now = sup.clock()
    text = f"fired: {reason}" + (f" ({note})" if note else "")
    if problem:
        text += f"; {problem}"
    with sup.registry.transaction() as conn:
        sup.registry.add_fire(conn, agent.id, reason, note, ref, automatic=automatic, now=now)
        fired = sup.transition(
            agent,
            Event.FIRE,
            reason=text,
            claim=claim,
            event_data={"fire_reason": reason, "ref": ref, "automatic": automatic},
            ended_at=agent.ended_at or now,
            exit_code=exit_code,
            preserved_ref=ref or agent.preserved_ref,
            queue_reason=None,
            queue_kind=None,
            queue_data=None,
            stop_request=None,
        )
        if fired is None:  # cannot happen under our claim unless the record vanished
            raise SupervisorError(f"agent {agent.id} changed while being fired; nothing recorded")
    if problem is None:
        remove_worktree(sup, fired)
    return sup.registry.get(agent.id)


def finish_requested_fire(
    sup: Supervisor, agent: Agent, claim: Claim, request: dict[str, Any], *, default_reason: str = "derailed"
) -> Agent:
    """:func:`finish_fire` for a fire recorded as ``request`` (what :func:`fire` asks: a stop
    request a start honours, or the data of a dead firer's claim)."""
    return finish_fire(
        sup,
        agent,
        claim,
        str(request.get("reason", default_reason)),
        str(request.get("note", "")),
        automatic=bool(request.get("automatic")),
    )


def stop_processes(sup: Supervisor, agent: Agent) -> None:
    """End the agent's whole process tree (pane root, descendants, tagged daemons) and session."""
    if not agent.tmux_session and agent.status in PENDING:
        return
    # An ended agent's pane pid may belong to someone else by now: only its tag counts then.
    procs = process_tree(agent.pid if agent.status in ACTIVE else None, agent.id)
    if procs:
        hard = terminate(procs, sup.config.supervisor.kill_grace)
        if hard:
            log.info("%s: killed %d process(es) that ignored SIGTERM: %s", agent.id, len(hard), hard)
    if agent.tmux_session:
        try:
            sup.tmux.kill_session(agent.tmux_session)
        except TmuxError as exc:
            log.warning("%s: could not kill session %s: %s", agent.id, agent.tmux_session, exc)


def preserve(sup: Supervisor, agent: Agent, ref: str, message: str) -> tuple[str | None, str | None]:
    """Snapshot the agent's uncommitted files to ``ref``: ``(ref or None, problem or None)``.

    ``(None, None)``: nothing uncommitted (or no worktree). A problem (a broken worktree, a
    failed git command) means the worktree must NOT be removed: its files are the only copy.
    """
    if not agent.worktree:
        return None, None
    path = Path(agent.worktree)
    if not path.exists():
        return None, None
    broken = worktrees.verify(sup.repo, path)
    if broken:
        problem = f"work NOT preserved ({broken}); files left in place at {path}"
        log.error("%s: %s", agent.id, problem)
        sup.registry.add_event("preserve_failed", agent.id, agent.task_id, error=broken, path=str(path))
        return None, problem
    try:
        commit = worktrees.snapshot(path, ref, message)
    except worktrees.WorktreeError as exc:
        problem = f"work NOT preserved ({exc}); files left in place at {path}"
        log.error("%s: %s", agent.id, problem)
        sup.registry.add_event("preserve_failed", agent.id, agent.task_id, error=str(exc), path=str(path))
        return None, problem
    if commit is None:
        return None, None
    log.info("%s: uncommitted work preserved at %s (%s)", agent.id, ref, commit[:10])
    return ref, None


def remove_worktree(sup: Supervisor, agent: Agent) -> None:
    """Remove a worktree whose work is ALREADY preserved (branch + ref). Branches survive."""
    if not agent.worktree:
        return
    try:
        worktrees.remove(sup.repo, Path(agent.worktree))
        sup.registry.update_attempt(agent.id, worktree=None)
    except worktrees.WorktreeError as exc:
        log.warning("%s: could not remove worktree %s: %s", agent.id, agent.worktree, exc)
        sup.registry.add_event("worktree_remove_failed", agent.id, agent.task_id, error=str(exc))


def retire(sup: Supervisor, agent: Agent) -> Agent:
    """An ended agent gives up its processes, session and worktree (under the caller's claim);
    its uncommitted files go to ``refs/jarvis/kept/<id>`` first. Raises if they could not be
    preserved, having removed nothing."""
    stop_processes(sup, agent)
    if agent.worktree and Path(agent.worktree).exists():
        kept, problem = preserve(
            sup, agent, f"refs/jarvis/kept/{agent.id}", f"jarvis: work of {agent.id} ({agent.status}) kept on cleanup"
        )
        if problem:
            raise SupervisorError(f"could not preserve the work of {agent.id}, so nothing was removed: {problem}")
        if kept:
            sup.registry.update_attempt(agent.id, preserved_ref=kept)
        remove_worktree(sup, sup.registry.get(agent.id))
    return sup.registry.get(agent.id)


__all__ = ["finish_fire", "finish_requested_fire", "fire", "preserve", "remove_worktree", "retire", "stop_processes"]
