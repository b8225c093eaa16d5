"""The orchestrators connected through ``jarvis mcp``: who drives the workers, seen by a person.

Each ``jarvis mcp`` process records itself (the client's name from the MCP ``initialize``,
its pid and start time, since when, its last call) and removes itself on exit. A process
that died without removing itself (kill -9) is ignored by :func:`connected` and its row
dropped by the next :func:`register`: the dashboard's header never shows a ghost.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from . import procfs
from .lease import pid_alive, process_started
from .models import Orchestrator

if TYPE_CHECKING:
    from .registry import Registry

log = logging.getLogger("jarvis.orchestrators")


def register(registry: Registry, client: str, version: str | None, *, now: float, pid: int | None = None) -> None:
    """Record (or rename) this process's connection; clears rows of processes that are gone."""
    pid = os.getpid() if pid is None else pid
    started = process_started(pid)
    with registry.transaction() as conn:
        for row in conn.execute("SELECT pid, pid_started, host FROM orchestrators").fetchall():
            if row["host"] == procfs.hostname() and row["pid"] != pid and not pid_alive(row["pid"], row["pid_started"]):
                conn.execute("DELETE FROM orchestrators WHERE pid = ?", (row["pid"],))
        conn.execute(
            "INSERT INTO orchestrators (pid, pid_started, host, client, client_version, since) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(pid) DO UPDATE SET client = excluded.client, client_version = excluded.client_version,"
            " pid_started = excluded.pid_started",
            (pid, started, procfs.hostname(), client[:80] or "unknown", (version or "")[:40] or None, now),
        )
    log.info("orchestrator connected: %s %s (pid %d)", client, version or "", pid)


def touch(registry: Registry, tool: str, *, now: float, pid: int | None = None) -> None:
    """A tool call: when, which, how many so far."""
    with registry.transaction() as conn:
        conn.execute(
            "UPDATE orchestrators SET last_call_at = ?, last_tool = ?, calls = calls + 1 WHERE pid = ?",
            (now, tool, os.getpid() if pid is None else pid),
        )


def unregister(registry: Registry, *, pid: int | None = None) -> None:
    with registry.transaction() as conn:
        conn.execute("DELETE FROM orchestrators WHERE pid = ?", (os.getpid() if pid is None else pid,))


def connected(registry: Registry) -> list[Orchestrator]:
    """The live ones, oldest first (rows of dead processes on this host are skipped)."""
    here = procfs.hostname()
    out = []
    for row in registry.query("SELECT * FROM orchestrators ORDER BY since, pid"):
        if row["host"] == here and not pid_alive(row["pid"], row["pid_started"]):
            continue
        out.append(
            Orchestrator(
                pid=row["pid"],
                client=row["client"],
                since=row["since"],
                client_version=row["client_version"],
                last_call_at=row["last_call_at"],
                last_tool=row["last_tool"],
                calls=row["calls"],
                host=row["host"],
            )
        )
    return out


__all__ = ["connected", "register", "touch", "unregister"]
