"""The one registry: SQLite in WAL mode under ``sessions/``, shared by the dashboard, every
CLI process and the agents' own reports. Writers take ``BEGIN IMMEDIATE`` (two processes
queue, never deadlock); each thread has its own connection (both in :mod:`.database`).
This module opens and migrates it and holds the writes; the reads are in :mod:`.registry_reads`.

Storage faults become a :class:`StorageError` that says what, where and what to do
(:mod:`.storage`); a registry deleted or replaced under a running process is refused, and a
vanished one is never silently re-created while agents' records exist (``create``).
Status is not an ordinary column: :func:`.lifecycle.transition` is its only writer, and
:mod:`.claims` the only writer of the claim columns (see :mod:`.schema`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .database import guarded
from .registry_reads import RegistryReads
from .rows import encode
from .schema import ATTEMPT_FIELDS, MIGRATIONS
from .storage import NotFound, RegistryError, RegistryGone, StorageError, storage_error


class Registry(RegistryReads):
    def __init__(self, path: Path, *, timeout: float = 30.0, create: bool = True) -> None:
        """Open (and migrate) the registry. ``create=False``: refuse to start an empty one."""
        super().__init__(path, timeout=timeout)
        if not create and not self.path.exists():
            raise RegistryGone(
                f"the registry {self.path} is missing, but agents' records exist in "
                f"{self.path.parent}: refusing to start an empty one (it would orphan them). "
                "Restore it, or rebuild it from the records: jarvis doctor --adopt"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate(create)
            self.remember_file()
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise storage_error(exc, self.path) from None

    def _migrate(self, create: bool) -> None:
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RegistryError(
                    f"{self.path} has schema version {version}, newer than this jarvis "
                    f"({len(MIGRATIONS)}); upgrade jarvis-tui"
                )
            if version == 0 and not create:
                raise RegistryGone(
                    f"the registry {self.path} is empty, but agents' records exist in "
                    f"{self.path.parent}: refusing to start fresh (it would orphan them). "
                    "Rebuild it from the records: jarvis doctor --adopt"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    @property
    @guarded
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------------ ids

    @guarded
    def new_id(self) -> str:
        """Six hex digits, unique among tasks and attempts (both share the space)."""
        for _ in range(100):
            candidate = os.urandom(3).hex()
            row = self.conn.execute(
                "SELECT 1 FROM attempts WHERE id = ? UNION SELECT 1 FROM tasks WHERE id = ?", (candidate, candidate)
            ).fetchone()
            if row is None:
                return candidate
        raise RegistryError("could not find a free id")

    # ------------------------------------------------------------------ writes

    def create_task(
        self,
        conn: sqlite3.Connection,
        *,
        task_id: str,
        title: str,
        prompt: str,
        priority: str,
        profile: str,
        after_task_id: str | None = None,
        max_attempts: int | None = None,
        now: float | None = None,
        scope: list[str] | None = None,
        after: list[str] | None = None,
        ticket: str | None = None,
        kind: str | None = None,
        base: str | None = None,
        batch: str | None = None,
        batch_width: int | None = None,
        budget_usd: float | None = None,
    ) -> None:
        """A task row and its dependencies (``after``: task ids, all must be done; ``after_task_id``
        alone is the older single form, kept as the first of them)."""
        deps = list(after or ([after_task_id] if after_task_id else []))
        conn.execute(
            "INSERT INTO tasks (id, title, prompt, priority, profile, created_at, after_task_id, max_attempts, scope,"
            " ticket, kind, base, batch, batch_width, budget_usd)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task_id,
                title,
                prompt,
                priority,
                profile,
                now or time.time(),
                deps[0] if deps else None,
                max_attempts,
                json.dumps(scope) if scope else None,
                ticket,
                kind,
                base,
                batch,
                batch_width,
                budget_usd,
            ),
        )
        conn.executemany(
            "INSERT INTO task_deps (task_id, dep_task_id, position) VALUES (?, ?, ?)",
            [(task_id, dep, position) for position, dep in enumerate(deps)],
        )

    def restore_dependencies(self, task_id: str, deps: list[str]) -> list[str]:
        """Give a task rebuilt by ``doctor --adopt`` the dependencies its record names, those
        whose tasks exist (the others were lost with the registry); returns those restored."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM task_deps WHERE task_id = ?", (task_id,)).fetchone():
                return []
            known = [
                d for d in dict.fromkeys(deps) if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (d,)).fetchone()
            ]
            if known:
                conn.execute("UPDATE tasks SET after_task_id = ? WHERE id = ?", (known[0], task_id))
                conn.executemany(
                    "INSERT INTO task_deps (task_id, dep_task_id, position) VALUES (?, ?, ?)",
                    [(task_id, dep, position) for position, dep in enumerate(known)],
                )
        return known

    def create_attempt(
        self,
        conn: sqlite3.Connection,
        *,
        attempt_id: str,
        task_id: str,
        attempt: int,
        profile: str,
        status: str,
        now: float | None = None,
        **fields: Any,
    ) -> None:
        """A new attempt, born in ``status`` (queued, or any status for seeded history)."""
        columns = ["id", "task_id", "attempt", "profile", "status", "created_at"]
        values: list[Any] = [attempt_id, task_id, attempt, profile, str(status), now or time.time()]
        for key, value in encode(fields).items():
            if key not in ATTEMPT_FIELDS:
                raise KeyError(key)
            columns.append(key)
            values.append(value)
        conn.execute(f"INSERT INTO attempts ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})", values)

    def write_row(
        self,
        conn: sqlite3.Connection,
        attempt_id: str,
        fields: dict[str, Any],
        *,
        columns: Collection[str],
        where: str = "",
        params: tuple[Any, ...] = (),
    ) -> bool:
        """UPDATE one attempt's ``fields`` (each must be in ``columns``: the caller's own set).

        ``where`` adds a condition (compare-and-set). Returns whether the row changed.
        """
        fields = encode(fields)
        for key in fields:
            if key not in columns:
                raise KeyError(
                    f"{key!r} may not be written here"
                    + (" (status changes go through lifecycle.transition)" if key == "status" else "")
                )
        if not fields:
            return False
        sets = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE attempts SET {sets} WHERE id = ?" + (f" AND ({where})" if where else "")
        return conn.execute(sql, [*fields.values(), attempt_id, *params]).rowcount == 1

    def update_attempt(self, attempt_id: str, **fields: Any) -> bool:
        """Update an attempt's ordinary fields (not its status, not its claim)."""
        with self.transaction() as conn:
            return self.write_row(conn, attempt_id, fields, columns=ATTEMPT_FIELDS)

    def add_fire(
        self,
        conn: sqlite3.Connection,
        attempt_id: str,
        reason: str,
        note: str,
        ref: str | None,
        *,
        automatic: bool = False,
        now: float | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO fires (attempt_id, reason, note, at, ref, automatic) VALUES (?, ?, ?, ?, ?, ?)",
            (attempt_id, reason, note, now or time.time(), ref, int(automatic)),
        )

    def add_event(
        self,
        kind: str,
        attempt_id: str | None = None,
        task_id: str | None = None,
        *,
        conn: sqlite3.Connection | None = None,
        now: float | None = None,
        **data: Any,
    ) -> int:
        sql = "INSERT INTO events (at, attempt_id, task_id, kind, data) VALUES (?, ?, ?, ?, ?)"
        params = (now or time.time(), attempt_id, task_id, kind, json.dumps(data, default=str))
        if conn is not None:
            return conn.execute(sql, params).lastrowid or 0
        with self.transaction() as c:
            return c.execute(sql, params).lastrowid or 0

    # ------------------------------------------------------------------ meta (leases, settings)

    @guarded
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str, *, conn: sqlite3.Connection | None = None) -> None:
        sql = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        if conn is not None:
            self.write_unread(conn, sql, (key, value))
            return
        with self.transaction() as c:
            self.write_unread(c, sql, (key, value))

    def delete_meta(self, key: str, *, conn: sqlite3.Connection | None = None) -> None:
        if conn is not None:
            self.write_unread(conn, "DELETE FROM meta WHERE key = ?", (key,))
            return
        with self.transaction() as c:
            self.write_unread(c, "DELETE FROM meta WHERE key = ?", (key,))


__all__ = ["NotFound", "Registry", "RegistryError", "RegistryGone", "StorageError", "storage_error"]
