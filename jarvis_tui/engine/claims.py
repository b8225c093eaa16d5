"""Claims: at most one operation at a time on an agent, and who is doing it.

Every operation that starts, stops, preserves, removes or merges an agent's work first
claims the agent: ``(op, token, pid, pid start time, host, since, data)`` in its registry
row, written in a ``BEGIN IMMEDIATE`` transaction. A second caller finds the claim and gets
:class:`~.errors.Busy` ("already being fired"), unless the holder is dead: a claim whose
process is gone (same host: pid and start time checked, so a reused pid does not count) is
taken over at once, never after a fixed timeout. Reconcile finishes or undoes what a dead
holder left half-done (:mod:`.recovery`).

A fire that finds the agent claimed by a start does not wait for the start to end: it
leaves a stop request that the start honours at its next step (:func:`request_stop`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from typing import Any

from . import procfs
from .errors import Busy
from .lease import pid_alive, process_started
from .models import Agent, Claim
from .registry import Registry
from .schema import CLAIM_FIELDS

log = logging.getLogger("jarvis.claims")

OTHER_HOST_STALE = 600.0  # a claim from another host (shared disk) is trusted this long
_EMPTY = {name: None for name in CLAIM_FIELDS}
_ME: tuple[int, float | None] | None = None


def _me() -> tuple[int, float | None]:
    global _ME
    if _ME is None or _ME[0] != os.getpid():  # recomputed after a fork
        _ME = (os.getpid(), process_started(os.getpid()))
    return _ME


def alive(claim: Claim, now: float) -> bool:
    """Is the claim's holder still running? (A claim of this very process always is.)"""
    if claim.host != procfs.hostname():
        return now - claim.at < OTHER_HOST_STALE
    pid, _started = _me()
    if claim.pid == pid:
        return True
    return pid_alive(claim.pid, claim.pid_started)


def _holder(claim: Claim) -> str:
    return f"pid {claim.pid}" + ("" if claim.host == procfs.hostname() else f" on {claim.host}")


def take(
    registry: Registry,
    agent_id: str,
    op: str,
    *,
    now: float,
    data: dict[str, Any] | None = None,
    conn: sqlite3.Connection | None = None,
) -> Claim:
    """Claim ``agent_id`` for ``op``; raises :class:`Busy` if a live holder has it."""
    with registry.transaction() as txn:
        agent = registry.get(agent_id)
        current = agent.claim
        if current is not None:
            if alive(current, now):
                raise Busy(agent_id, current.op, _holder(current))
            log.warning("%s: taking over the %s claim of dead %s", agent_id, current.op, _holder(current))
            registry.add_event(
                "claim_taken_over",
                agent_id,
                agent.task_id,
                conn=txn,
                now=now,
                op=current.op,
                by_op=op,
                dead_pid=current.pid,
                since=current.at,
            )
        pid, started = _me()
        claim = Claim(
            op=op,
            token=os.urandom(16).hex(),
            pid=pid,
            pid_started=started,
            host=procfs.hostname(),
            at=now,
            data=data or {},
        )
        registry.write_row(
            txn,
            agent_id,
            {
                "claim_op": op,
                "claim_token": claim.token,
                "claim_pid": pid,
                "claim_pid_started": started,
                "claim_host": claim.host,
                "claim_at": now,
                "claim_data": json.dumps(claim.data, default=str),
            },
            columns=CLAIM_FIELDS,
        )
    return claim


def release(registry: Registry, agent_id: str, claim: Claim) -> bool:
    """Give the claim up (only if it is still ours: a taker-over's claim is left alone)."""
    with registry.transaction() as conn:
        return registry.write_row(
            conn, agent_id, dict(_EMPTY), columns=CLAIM_FIELDS, where="claim_token = ?", params=(claim.token,)
        )


def holds(agent: Agent, claim: Claim | None) -> bool:
    return claim is not None and agent.claim is not None and agent.claim.token == claim.token


def blocks(agent: Agent, claim: Claim | None, now: float) -> bool:
    """Does someone else's live claim keep the caller (holding ``claim``, or none) off this agent?"""
    return agent.claim is not None and not holds(agent, claim) and alive(agent.claim, now)


def request_stop(registry: Registry, agent_id: str, request: dict[str, Any]) -> bool:
    """Ask the start holding ``agent_id`` to fire it instead (False if no start holds it now)."""
    with registry.transaction() as conn:
        return registry.write_row(
            conn,
            agent_id,
            {"stop_request": request},
            columns={"stop_request"},
            where="claim_op = 'start' AND stop_request IS NULL",
        )


__all__ = ["OTHER_HOST_STALE", "alive", "blocks", "holds", "release", "request_stop", "take"]
