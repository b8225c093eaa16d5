"""The engine lease: exactly one engine loop acts (dispatches, retries, fires) at a time.

The lease is one JSON value in the registry's ``meta`` table, key ``engine_lease``::

    {"owner": "...", "pid": 1234, "pid_started": 1718000000.5, "host": "box",
     "acquired_at": ..., "renewed_at": ..., "ttl": 30}

Acquire and renew are the same call, made at the start of every tick inside a
``BEGIN IMMEDIATE`` transaction, so two processes can never both believe they won. The lease
belongs to a process (host + pid): a new loop object in the holder's process carries on with
it (``owner`` is a label, updated to the latest loop). A lease is
taken over when its holder is gone: its pid is dead (same host; checked with the process
start time, so a reused pid does not count) or it was not renewed for ``ttl`` seconds (a
hung holder, or one on another host). Any loop that is not the holder only observes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import procfs
from .registry import Registry

LEASE_KEY = "engine_lease"
DEFAULT_TTL = 30.0


@dataclass(frozen=True)
class LeaseInfo:
    owner: str
    pid: int
    host: str
    acquired_at: float
    renewed_at: float
    ttl: float
    pid_started: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def pid_alive(pid: int, started: float | None = None) -> bool:
    """Is this process still running (and the same process, when its start time is known)?"""
    state = _process_state(pid)
    if state is None or state[0] == "Z":  # gone, or a zombie
        return False
    return started is None or abs(state[1] - started) < 1.0


def process_started(pid: int) -> float | None:
    """When the process started (seconds since the epoch, as psutil's ``create_time``), or None."""
    state = _process_state(pid)
    return state[1] if state is not None else None


def _process_state(pid: int) -> tuple[str, float] | None:
    """(state letter, start time) of a live process: from ``/proc`` (every claim and lease
    asks; no psutil import on a CLI spawn), else psutil."""
    boot = procfs.boot_time()
    if boot is None:
        return _psutil_state(pid)
    fields = procfs.stat_fields(pid)
    if fields is None:
        return None
    return fields[0].decode(), boot + int(fields[19]) / procfs.TICKS


def _psutil_state(pid: int) -> tuple[str, float] | None:
    import psutil  # no /proc here

    try:
        proc = psutil.Process(pid)
        return ("Z" if proc.status() == psutil.STATUS_ZOMBIE else "R"), proc.create_time()
    except psutil.Error:
        return None


def read_lease(registry: Registry) -> LeaseInfo | None:
    raw = registry.get_meta(LEASE_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return LeaseInfo(**{k: data.get(k) for k in LeaseInfo.__dataclass_fields__})
    except (ValueError, TypeError):
        return None  # unreadable: treat as free, the next acquire overwrites it


def vacancy(
    info: LeaseInfo | None,
    now: float,
    *,
    host: str | None = None,
    alive: Callable[[int, float | None], bool] = pid_alive,
) -> str | None:
    """Why the lease is free to take (``None``: a live holder has it)."""
    if info is None:
        return "no holder"
    if info.renewed_at + info.ttl < now:
        return f"expired: not renewed for {now - info.renewed_at:.0f}s (ttl {info.ttl:g}s)"
    if info.host == (host or procfs.hostname()) and not alive(info.pid, info.pid_started):
        return f"holder pid {info.pid} is dead"
    return None


def holder_alive(registry: Registry, *, now: float | None = None) -> LeaseInfo | None:
    """The live holder of the lease, or ``None``."""
    info = read_lease(registry)
    return info if vacancy(info, time.time() if now is None else now) is None else None


class Lease:
    def __init__(
        self,
        registry: Registry,
        owner: str,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        pid: int | None = None,
        host: str | None = None,
        alive: Callable[[int, float | None], bool] = pid_alive,
    ) -> None:
        self.registry = registry
        self.owner = owner
        self.ttl = ttl
        self.clock = clock
        self.pid = os.getpid() if pid is None else pid
        self.host = host or procfs.hostname()
        self.alive = alive
        self.pid_started = process_started(self.pid)
        self.held = False

    def acquire(self) -> bool:
        """Take, renew or fail to get the lease. Returns whether this loop now holds it."""
        now = self.clock()
        with self.registry.transaction() as conn:
            current = read_lease(self.registry)
            mine = current is not None and (current.host, current.pid) == (self.host, self.pid)
            why = None if mine else vacancy(current, now, host=self.host, alive=self.alive)
            if not mine and why is None:
                self.held = False
                return False
            info = LeaseInfo(
                owner=self.owner,
                pid=self.pid,
                host=self.host,
                acquired_at=current.acquired_at if mine and current else now,
                renewed_at=now,
                ttl=self.ttl,
                pid_started=self.pid_started,
            )
            self.registry.set_meta(LEASE_KEY, json.dumps(info.to_json()), conn=conn)
            if not mine:
                kind = "taken_over" if current is not None else "acquired"
                self.registry.add_event(
                    "lease",
                    conn=conn,
                    now=now,
                    decision=kind,
                    owner=self.owner,
                    pid=self.pid,
                    host=self.host,
                    why=why,
                    previous=current.to_json() if current else None,
                )
        self.held = True
        return True

    def release(self) -> None:
        """Give the lease up (clean exit) so a standby loop takes over at once."""
        with self.registry.transaction() as conn:
            current = read_lease(self.registry)
            if current is not None and (current.host, current.pid) == (self.host, self.pid):
                self.registry.delete_meta(LEASE_KEY, conn=conn)
                self.registry.add_event(
                    "lease", conn=conn, now=self.clock(), decision="released", owner=self.owner, pid=self.pid
                )
        self.held = False


__all__ = ["LEASE_KEY", "Lease", "LeaseInfo", "holder_alive", "pid_alive", "process_started", "read_lease", "vacancy"]
