"""Retry: a new attempt of a task, told why the last one ended.

By default the new attempt starts from exactly the files the last one left (its preserved
ref, else its branch tip); ``fresh`` starts from the base. A task has at most ONE live
attempt: a retry while one is queued, starting or running is refused (fire it first), and
retrying claims the previous attempt, so ten concurrent retries make one new attempt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import claims
from .errors import SupervisorError
from .git import worktrees
from .lifecycle import LIVE, Action, require
from .models import FIRED, QUEUED, Agent
from .stop import retire

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.retry")


def retry(
    sup: Supervisor, ident: str, *, fresh: bool = False, not_before: float | None = None, automatic: bool = False
) -> Agent:
    """A new attempt of ``ident``'s task. ``not_before`` (epoch seconds) queues it until then
    (automatic retry backoff); ``automatic`` retries only ever follow the latest attempt."""
    previous = sup.get(ident)
    require(previous, Action.RETRY)
    _refuse_if_live(sup, previous)
    claim = claims.take(sup.registry, previous.id, "retry", now=sup.clock())
    try:
        previous = sup.registry.get(previous.id)
        require(previous, Action.RETRY)
        _refuse_if_live(sup, previous)
        if previous.worktree:
            previous = retire(sup, previous)
        start_point, start_ref = (None, None) if fresh else _start_from(sup, previous)
        context = retry_context(previous)
        conflicts = sup.registry.events(attempt_id=previous.id, kinds=("merge_conflict",), limit=1, newest=True)
        if conflicts:  # its merge was refused: the next attempt is told what to rebase onto
            context += f"; its merge was refused: {conflicts[-1]['data'].get('context')}"
        now = sup.clock()
        with sup.registry.transaction() as conn:
            _refuse_if_live(sup, previous)  # again, under the write lock: one live attempt per task
            attempts = sup.registry.attempts_of(previous.task_id)
            number = max(a.attempt for a in attempts) + 1
            if automatic and number != previous.attempt + 1:
                raise SupervisorError(f"task {previous.task_id} already has a newer attempt than {previous.id}")
            agent_id = sup.registry.new_id()
            sup.registry.create_attempt(
                conn,
                attempt_id=agent_id,
                task_id=previous.task_id,
                attempt=number,
                profile=previous.agent,
                status=QUEUED,
                now=now,
                retry_context=context,
                start_point=start_point,
                start_ref=start_ref,
                not_before=not_before,
            )
            sup.registry.add_event(
                "retried",
                agent_id,
                previous.task_id,
                conn=conn,
                now=now,
                previous=previous.id,
                fresh=fresh,
                automatic=automatic,
            )
            admitted, start_claim = sup.admit(agent_id, order=True)
    finally:
        claims.release(sup.registry, previous.id, claim)
    log.info(
        "%s retried as %s (attempt %d%s): %s",
        previous.id,
        agent_id,
        number,
        ", fresh" if fresh else "",
        admitted.status,
    )
    if start_claim is not None:
        return sup.start(agent_id, start_claim)
    return admitted


def _refuse_if_live(sup: Supervisor, previous: Agent) -> None:
    for attempt in sup.registry.attempts_of(previous.task_id):
        if attempt.status in LIVE and not attempt.removed:
            raise SupervisorError(
                f"task {previous.task_id} already has a live attempt {attempt.id} "
                f"({attempt.status}); fire it first to retry"
            )


def _start_from(sup: Supervisor, previous: Agent) -> tuple[str | None, str | None]:
    """(commit the new branch starts at, ref whose files are restored on top)."""
    if previous.preserved_ref and worktrees.ref_exists(sup.repo, previous.preserved_ref):
        return worktrees.resolve_commit(sup.repo, f"{previous.preserved_ref}^"), previous.preserved_ref
    if previous.branch and worktrees.ref_exists(sup.repo, f"refs/heads/{previous.branch}"):
        return worktrees.resolve_commit(sup.repo, previous.branch), None
    return None, None


def retry_context(previous: Agent) -> str:
    """One line for the next attempt: which attempt, how it ended, and why (said once)."""
    parts = [f"attempt {previous.attempt} ({previous.id})"]
    said = ""
    if previous.status == FIRED and previous.fires:
        fire = previous.fires[-1]
        said = f"was fired as {fire.reason}" + (f": {fire.note}" if fire.note else "")
    elif previous.exit_code is not None:
        said = f"exited with code {previous.exit_code}"
    else:
        said = f"ended as {previous.status}"
    parts.append(said)
    reason = previous.status_reason or ""
    if reason and previous.status != FIRED and reason not in said and said.split(" (")[0] not in reason:
        parts.append(f"({reason})")
    if previous.summary:
        parts.append(f"summary: {previous.summary}")
    return " ".join(parts)


__all__ = ["retry", "retry_context"]
