"""The one registry: SQLite in WAL mode under ``sessions/``, shared by the dashboard, every
CLI process and the agents' own reports. Writers take ``BEGIN IMMEDIATE`` (two processes
queue, never deadlock); each thread has its own connection.

Storage faults become a :class:`StorageError` that says what, where and what to do
(:mod:`.storage`); a registry deleted or replaced under a running process is refused, and a
vanished one is never silently re-created while agents' records exist (``create``).
Status is not an ordinary column: :func:`.lifecycle.transition` is its only writer, and
:mod:`.claims` the only writer of the claim columns (see :mod:`.schema`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .models import Agent, FireRecord
from .rows import SELECT_AGENTS, agent_from_row, encode
from .schema import ATTEMPT_FIELDS, MIGRATIONS
from .storage import NotFound, RegistryError, RegistryGone, StorageError, storage_error

log = logging.getLogger("jarvis.registry")
T = TypeVar("T")


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Check the file is still ours, and turn storage faults into StorageError."""

    @functools.wraps(method)
    def wrapper(self: Registry, *args: Any, **kwargs: Any) -> T:
        self.check_file()
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(exc, self.path) from None

    return wrapper


class Registry:
    def __init__(self, path: Path, *, timeout: float = 30.0, create: bool = True) -> None:
        """Open (and migrate) the registry. ``create=False``: refuse to start an empty one."""
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self._identity: tuple[int, int] | None = None
        if not create and not self.path.exists():
            raise RegistryGone(
                f"the registry {self.path} is missing, but agents' records exist in "
                f"{self.path.parent}: refusing to start an empty one (it would orphan them). "
                "Restore it, or rebuild it from the records: jarvis doctor --adopt"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate(create)
            stat = self.path.stat()
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise storage_error(exc, self.path) from None
        self._identity = (stat.st_dev, stat.st_ino)

    # ------------------------------------------------------------------ connections

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            self._local.after = []
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def check_file(self) -> None:
        """Refuse to go on if the database file was deleted, emptied or replaced."""
        if self._identity is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise RegistryGone(
                f"the registry {self.path} was deleted while jarvis ran; refusing to act. "
                "Restore it, or rebuild it from the agents' records: jarvis doctor --adopt"
            ) from None
        if (stat.st_dev, stat.st_ino) != self._identity or stat.st_size == 0:
            raise RegistryGone(
                f"the registry {self.path} was replaced or emptied while jarvis ran; refusing "
                "to act on it. Restart the command; if agents are missing: jarvis doctor --adopt"
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken up front so concurrent writers queue, never deadlock.

        Nested calls join the outer one. Callbacks registered with :meth:`after_commit` run
        once the outermost transaction has committed (never after a rollback).
        """
        self.check_file()
        try:
            conn = self.conn
            nested = conn.in_transaction
            if not nested:
                conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(exc, self.path) from None
        if nested:
            yield conn
            return
        self._local.after = []
        try:
            yield conn
        except BaseException as exc:
            self._local.after = []
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as again:  # the fault that got us here may also fail the rollback
                log.warning("rollback failed: %s", again)
            if isinstance(exc, sqlite3.Error):
                raise storage_error(exc, self.path) from None
            raise
        try:
            conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            self._local.after = []
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # a failed COMMIT may already have ended the transaction
            raise storage_error(exc, self.path) from None
        callbacks, self._local.after = self._local.after, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the current transaction commits (now, outside one)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.in_transaction:
            self._local.after.append(callback)
        else:
            callback()

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
    @_guarded
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------------ ids

    @_guarded
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

    @_guarded
    def resolve(self, prefix: str, *, include_removed: bool = True) -> str:
        """A full agent id from a unique prefix (a task id resolves to its latest attempt)."""
        prefix = prefix.strip().lower()
        if not prefix or not all(c in "0123456789abcdef" for c in prefix):
            raise NotFound(f"no agent with id {prefix!r} (ids are hex, e.g. 3fa2c1)")
        rows = self.conn.execute(
            "SELECT id FROM attempts WHERE id LIKE ? || '%'" + ("" if include_removed else " AND removed = 0"),
            (prefix,),
        ).fetchall()
        ids = [r["id"] for r in rows]
        if len(ids) == 1:
            return str(ids[0])
        if prefix in ids:
            return prefix
        if not ids:
            raise NotFound(f"no agent with id {prefix!r}")
        raise NotFound(f"id {prefix!r} is ambiguous: {', '.join(sorted(ids))}")

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

    # ------------------------------------------------------------------ reads

    def _complete(self, agents: list[Agent]) -> list[Agent]:
        """Rows to records: their fires and their dependencies (one query each, for any number)."""
        self._attach_fires(agents)
        if not agents:
            return agents
        by_task: dict[str, list[Agent]] = {}
        for agent in agents:
            by_task.setdefault(agent.task_id, []).append(agent)
        rows = self.conn.execute(
            f"SELECT task_id, dep_task_id FROM task_deps WHERE task_id IN ({', '.join('?' * len(by_task))})"
            " ORDER BY task_id, position",
            list(by_task),
        ).fetchall()
        for row in rows:
            for agent in by_task[row["task_id"]]:
                agent.after_tasks.append(row["dep_task_id"])
        return agents

    def _attach_fires(self, agents: list[Agent]) -> list[Agent]:
        if not agents:
            return agents
        by_id = {a.id: a for a in agents}
        rows = self.conn.execute(
            f"SELECT * FROM fires WHERE attempt_id IN ({', '.join('?' * len(by_id))}) ORDER BY id", list(by_id)
        ).fetchall()
        for row in rows:
            by_id[row["attempt_id"]].fires.append(
                FireRecord(
                    reason=row["reason"],
                    note=row["note"],
                    at=row["at"],
                    ref=row["ref"],
                    automatic=bool(row["automatic"]),
                )
            )
        return agents

    @_guarded
    def get(self, attempt_id: str) -> Agent:
        row = self.conn.execute(SELECT_AGENTS + " WHERE a.id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agent with id {attempt_id!r}")
        return self._complete([agent_from_row(row)])[0]

    @_guarded
    def agents(
        self, *, include_removed: bool = False, latest_only: bool = False, statuses: Collection[str] | None = None
    ) -> list[Agent]:
        where = []
        params: list[Any] = []
        if not include_removed:
            where.append("a.removed = 0")
        if statuses is not None:
            where.append(f"a.status IN ({', '.join('?' * len(statuses))})")
            params.extend(sorted(str(s) for s in statuses))
        if latest_only:  # in SQL: history does not make a tick slower
            where.append("a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)")
        sql = (
            SELECT_AGENTS
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY t.created_at, a.attempt, a.id"
        )
        agents = [agent_from_row(r) for r in self.conn.execute(sql, params).fetchall()]
        return self._complete(agents)

    @_guarded
    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        """A read for the engine modules that own their own tables (notes, orchestrators)."""
        return self.conn.execute(sql, params).fetchall()

    @_guarded
    def latest_of(self, *task_ids: str) -> dict[str, Agent]:
        """The latest attempt of each of these tasks (removed ones included), by task id."""
        if not task_ids:
            return {}
        rows = self.conn.execute(
            SELECT_AGENTS + f" WHERE a.task_id IN ({', '.join('?' * len(task_ids))})"
            " AND a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)",
            task_ids,
        ).fetchall()
        return {a.task_id: a for a in self._attach_fires([agent_from_row(r) for r in rows])}

    @_guarded
    def ids(self, where: str, params: tuple[Any, ...] = ()) -> list[str]:
        """Ids of attempts matching an SQL condition: a cheap question for every tick."""
        return [r["id"] for r in self.conn.execute(f"SELECT id FROM attempts WHERE {where}", params).fetchall()]

    @_guarded
    def attempts_of(self, task_id: str) -> list[Agent]:
        rows = self.conn.execute(SELECT_AGENTS + " WHERE a.task_id = ? ORDER BY a.attempt", (task_id,)).fetchall()
        return self._complete([agent_from_row(r) for r in rows])

    @_guarded
    def events(
        self,
        *,
        attempt_id: str | None = None,
        task_id: str | None = None,
        kinds: tuple[str, ...] | None = None,
        since_id: int = 0,
        limit: int = 1000,
        newest: bool = False,
    ) -> list[dict[str, Any]]:
        """Events in order; ``newest`` keeps the LAST ``limit`` of them (still oldest first)."""
        sql = "SELECT * FROM events WHERE id > ?"
        params: list[Any] = [since_id]
        if attempt_id is not None:
            sql += " AND attempt_id = ?"
            params.append(attempt_id)
        if task_id is not None:
            sql += " AND task_id = ?"
            params.append(task_id)
        if kinds:
            sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
            params.extend(kinds)
        sql += f" ORDER BY id {'DESC' if newest else 'ASC'} LIMIT ?"
        params.append(limit)
        rows = self.conn.execute(sql, params).fetchall()
        if newest:
            rows.reverse()
        return [
            {
                "id": r["id"],
                "at": r["at"],
                "attempt_id": r["attempt_id"],
                "task_id": r["task_id"],
                "kind": r["kind"],
                "data": json.loads(r["data"]),
            }
            for r in rows
        ]

    # ------------------------------------------------------------------ meta (leases, settings)

    @_guarded
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str, *, conn: sqlite3.Connection | None = None) -> None:
        sql = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        if conn is not None:
            conn.execute(sql, (key, value))
            return
        with self.transaction() as c:
            c.execute(sql, (key, value))

    def delete_meta(self, key: str, *, conn: sqlite3.Connection | None = None) -> None:
        if conn is not None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            return
        with self.transaction() as c:
            c.execute("DELETE FROM meta WHERE key = ?", (key,))


__all__ = ["NotFound", "Registry", "RegistryError", "RegistryGone", "StorageError", "storage_error"]
