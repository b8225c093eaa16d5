"""The one registry: SQLite in WAL mode under ``sessions/``.

The dashboard, every CLI process and the agents' own reports read and write it. Writers
take ``BEGIN IMMEDIATE`` so two processes serialise instead of deadlocking, and
``busy_timeout`` makes the second one wait rather than fail. Each thread gets its own
connection (sqlite3 connections are not shared across threads).

Storage faults never surface as raw tracebacks: a read-only folder, a full disk, a corrupt
file or a registry deleted or replaced under a running process become a
:class:`StorageError` that says what, where and what to do. A registry that vanished is
never silently re-created while agents' records exist (that would orphan running agents):
the caller decides with ``create``.

Status is not an ordinary column: :func:`.lifecycle.transition` is its only writer, and
:mod:`.claims` the only writer of the claim columns (see :mod:`.schema`).
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .models import Agent, Claim, FireRecord, QueueReason, Tokens
from .schema import ATTEMPT_FIELDS, MIGRATIONS

log = logging.getLogger("jarvis.registry")
T = TypeVar("T")

_SELECT_AGENTS = """
SELECT a.*, t.title, t.prompt, t.priority, t.after_task_id, t.max_attempts, t.scope, t.kind, t.budget_usd,
       t.created_at AS task_created_at,
       (a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)) AS latest
FROM attempts a JOIN tasks t ON t.id = a.task_id
"""


class RegistryError(Exception):
    exit_code = 1


class NotFound(RegistryError):
    pass


class StorageError(RegistryError):
    """The registry cannot be read or written; the message says why and what to do."""


class RegistryGone(StorageError):
    """The registry was deleted, emptied or replaced while agents' records exist."""


def _filesystem(folder: Path) -> tuple[bool, bool]:
    """(read-only, full) for the filesystem holding ``folder``: SQLite often reports both as a
    bare "disk I/O error" (its WAL index cannot be written), which tells a user nothing."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False, False
    return bool(stat.f_flag & os.ST_RDONLY), stat.f_bavail * stat.f_frsize < 256 * 1024


def storage_error(exc: BaseException, path: Path) -> StorageError:
    """A clear message for a sqlite3 or OS error on the registry file."""
    text = str(exc).lower()
    folder = path.parent
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        text = "disk is full"
    elif isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        text = "read-only"
    elif "disk i/o error" in text or "unable to open" in text:
        read_only, full = _filesystem(folder)
        text = "read-only" if read_only else "disk is full" if full else text
    if "no such table" in text:
        return RegistryGone(f"the registry {path} has lost its tables (emptied or replaced while jarvis ran); "
                            "refusing to act. Restore it, or rebuild it: jarvis doctor --adopt")
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return StorageError(f"cannot write the registry {path}: the state folder is read-only. "
                            f"Check the permissions of {folder} (or set [supervisor] state_dir)")
    if "disk is full" in text or "no space" in text:
        return StorageError(f"cannot write the registry {path}: the disk is full. Free some space and retry")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageError(f"the registry {path} is corrupt (not a valid SQLite database). Move it aside and "
                            f"rebuild it from the agents' records: mv {path} {path}.bad && jarvis doctor --adopt")
    if "locked" in text or "busy" in text:
        return StorageError(f"the registry {path} stayed locked by another process; retry in a moment")
    if "unable to open" in text:
        return StorageError(f"cannot open the registry {path}: {folder} is missing or not writable")
    return StorageError(f"registry {path}: {exc}")


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
            raise RegistryGone(f"the registry {self.path} is missing, but agents' records exist in "
                               f"{self.path.parent}: refusing to start an empty one (it would orphan them). "
                               "Restore it, or rebuild it from the records: jarvis doctor --adopt")
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
            raise RegistryGone(f"the registry {self.path} was deleted while jarvis ran; refusing to act. "
                               "Restore it, or rebuild it from the agents' records: jarvis doctor --adopt") from None
        if (stat.st_dev, stat.st_ino) != self._identity or stat.st_size == 0:
            raise RegistryGone(f"the registry {self.path} was replaced or emptied while jarvis ran; refusing "
                               "to act on it. Restart the command; if agents are missing: jarvis doctor --adopt")

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
                raise RegistryError(f"{self.path} has schema version {version}, newer than this jarvis "
                                    f"({len(MIGRATIONS)}); upgrade jarvis-tui")
            if version == 0 and not create:
                raise RegistryGone(f"the registry {self.path} is empty, but agents' records exist in "
                                   f"{self.path.parent}: refusing to start fresh (it would orphan them). "
                                   "Rebuild it from the records: jarvis doctor --adopt")
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
            candidate = secrets.token_hex(3)
            row = self.conn.execute("SELECT 1 FROM attempts WHERE id = ? UNION SELECT 1 FROM tasks WHERE id = ?",
                                    (candidate, candidate)).fetchone()
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
            (prefix,)).fetchall()
        ids = [r["id"] for r in rows]
        if len(ids) == 1:
            return str(ids[0])
        if prefix in ids:
            return prefix
        if not ids:
            raise NotFound(f"no agent with id {prefix!r}")
        raise NotFound(f"id {prefix!r} is ambiguous: {', '.join(sorted(ids))}")

    # ------------------------------------------------------------------ writes

    def create_task(self, conn: sqlite3.Connection, *, task_id: str, title: str, prompt: str, priority: str,
                    profile: str, after_task_id: str | None = None, max_attempts: int | None = None,
                    now: float | None = None, scope: list[str] | None = None, kind: str | None = None,
                    budget_usd: float | None = None) -> None:
        conn.execute(
            "INSERT INTO tasks (id, title, prompt, priority, profile, created_at, after_task_id, max_attempts, scope,"
            " kind, budget_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, title, prompt, priority, profile, now or time.time(), after_task_id, max_attempts,
             json.dumps(scope) if scope else None, kind, budget_usd))

    def create_attempt(self, conn: sqlite3.Connection, *, attempt_id: str, task_id: str, attempt: int,
                       profile: str, status: str, now: float | None = None, **fields: Any) -> None:
        """A new attempt, born in ``status`` (queued, or any status for seeded history)."""
        columns = ["id", "task_id", "attempt", "profile", "status", "created_at"]
        values: list[Any] = [attempt_id, task_id, attempt, profile, str(status), now or time.time()]
        for key, value in _encode(fields).items():
            if key not in ATTEMPT_FIELDS:
                raise KeyError(key)
            columns.append(key)
            values.append(value)
        conn.execute(f"INSERT INTO attempts ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})", values)

    def write_row(self, conn: sqlite3.Connection, attempt_id: str, fields: dict[str, Any], *,
                  columns: Collection[str], where: str = "", params: tuple[Any, ...] = ()) -> bool:
        """UPDATE one attempt's ``fields`` (each must be in ``columns``: the caller's own set).

        ``where`` adds a condition (compare-and-set). Returns whether the row changed.
        """
        fields = _encode(fields)
        for key in fields:
            if key not in columns:
                raise KeyError(f"{key!r} may not be written here" + (
                    " (status changes go through lifecycle.transition)" if key == "status" else ""))
        if not fields:
            return False
        sets = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE attempts SET {sets} WHERE id = ?" + (f" AND ({where})" if where else "")
        return conn.execute(sql, [*fields.values(), attempt_id, *params]).rowcount == 1

    def update_attempt(self, attempt_id: str, **fields: Any) -> bool:
        """Update an attempt's ordinary fields (not its status, not its claim)."""
        with self.transaction() as conn:
            return self.write_row(conn, attempt_id, fields, columns=ATTEMPT_FIELDS)

    def add_fire(self, conn: sqlite3.Connection, attempt_id: str, reason: str, note: str, ref: str | None,
                 *, automatic: bool = False, now: float | None = None) -> None:
        conn.execute("INSERT INTO fires (attempt_id, reason, note, at, ref, automatic) VALUES (?, ?, ?, ?, ?, ?)",
                     (attempt_id, reason, note, now or time.time(), ref, int(automatic)))

    def add_event(self, kind: str, attempt_id: str | None = None, task_id: str | None = None, *,
                  conn: sqlite3.Connection | None = None, now: float | None = None, **data: Any) -> int:
        sql = "INSERT INTO events (at, attempt_id, task_id, kind, data) VALUES (?, ?, ?, ?, ?)"
        params = (now or time.time(), attempt_id, task_id, kind, json.dumps(data, default=str))
        if conn is not None:
            return conn.execute(sql, params).lastrowid or 0
        with self.transaction() as c:
            return c.execute(sql, params).lastrowid or 0

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _agent_from_row(row: sqlite3.Row) -> Agent:
        claim = None
        if row["claim_token"]:
            claim = Claim(op=row["claim_op"], token=row["claim_token"], pid=row["claim_pid"] or 0,
                          pid_started=row["claim_pid_started"], host=row["claim_host"] or "",
                          at=row["claim_at"] or 0.0, data=json.loads(row["claim_data"] or "{}"))
        queue = None
        if row["queue_kind"]:
            data = json.loads(row["queue_data"] or "{}")
            until = data.pop("until", None)
            queue = QueueReason(kind=row["queue_kind"], text=row["queue_reason"] or "", until=until, data=data)
        return Agent(
            id=row["id"], task_id=row["task_id"], title=row["title"], prompt=row["prompt"],
            agent=row["profile"], priority=row["priority"], status=row["status"],
            attempt=row["attempt"], created_at=row["created_at"], branch=row["branch"],
            worktree=row["worktree"], tmux_session=row["tmux_session"], pane_id=row["pane_id"],
            pid=row["pid"], base_commit=row["base_commit"], exit_code=row["exit_code"],
            started_at=row["started_at"], ended_at=row["ended_at"],
            last_output_at=row["last_output_at"], heartbeat_at=row["heartbeat_at"],
            heartbeat_note=row["heartbeat_note"], status_reason=row["status_reason"],
            queue_reason=row["queue_reason"], summary=row["summary"],
            retry_context=row["retry_context"], reported_status=row["reported_status"],
            after_task_id=row["after_task_id"], not_before=row["not_before"],
            preserved_ref=row["preserved_ref"], start_point=row["start_point"],
            start_ref=row["start_ref"], task_created_at=row["task_created_at"],
            removed=bool(row["removed"]), latest=bool(row["latest"]), max_attempts=row["max_attempts"],
            queue=queue, waiting_kind=row["waiting_kind"], stalled=bool(row["stalled"]), claim=claim,
            stop_request=json.loads(row["stop_request"]) if row["stop_request"] else None,
            scope=json.loads(row["scope"] or "[]"), merged_at=row["merged_at"], merge_commit=row["merge_commit"],
            merged_into=row["merged_into"], check_state=row["check_state"], check_exit=row["check_exit"],
            check_at=row["check_at"], overlaps=json.loads(row["overlaps"] or "[]"),
            out_of_scope=json.loads(row["out_of_scope"] or "[]"),
            kind=row["kind"], budget_usd=row["budget_usd"], status_source=row["status_source"],
            reported_state=row["reported_state"], reported_state_at=row["reported_state_at"],
            reported_state_reason=row["reported_state_reason"],
            tokens=None if row["tokens_input"] is None else Tokens(
                row["tokens_input"], row["tokens_output"] or 0, row["tokens_cache_read"] or 0,
                row["tokens_cache_write"] or 0),
            cost_usd=row["cost_usd"], cost_source=row["cost_source"], cost_note=row["cost_note"],
            budget_warned=bool(row["budget_warned"]),
        )

    def _attach_fires(self, agents: list[Agent]) -> list[Agent]:
        if not agents:
            return agents
        by_id = {a.id: a for a in agents}
        rows = self.conn.execute(
            f"SELECT * FROM fires WHERE attempt_id IN ({', '.join('?' * len(by_id))}) ORDER BY id",
            list(by_id)).fetchall()
        for row in rows:
            by_id[row["attempt_id"]].fires.append(
                FireRecord(reason=row["reason"], note=row["note"], at=row["at"], ref=row["ref"],
                           automatic=bool(row["automatic"])))
        return agents

    @_guarded
    def get(self, attempt_id: str) -> Agent:
        row = self.conn.execute(_SELECT_AGENTS + " WHERE a.id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agent with id {attempt_id!r}")
        return self._attach_fires([self._agent_from_row(row)])[0]

    @_guarded
    def agents(self, *, include_removed: bool = False, latest_only: bool = False,
               statuses: Collection[str] | None = None) -> list[Agent]:
        where = []
        params: list[Any] = []
        if not include_removed:
            where.append("a.removed = 0")
        if statuses is not None:
            where.append(f"a.status IN ({', '.join('?' * len(statuses))})")
            params.extend(sorted(str(s) for s in statuses))
        if latest_only:  # in SQL: history does not make a tick slower
            where.append("a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)")
        sql = (_SELECT_AGENTS + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY t.created_at, a.attempt, a.id")
        agents = [self._agent_from_row(r) for r in self.conn.execute(sql, params).fetchall()]
        return self._attach_fires(agents)

    @_guarded
    def ids(self, where: str, params: tuple[Any, ...] = ()) -> list[str]:
        """Ids of attempts matching an SQL condition: a cheap question for every tick."""
        return [r["id"] for r in self.conn.execute(f"SELECT id FROM attempts WHERE {where}", params).fetchall()]

    @_guarded
    def attempts_of(self, task_id: str) -> list[Agent]:
        rows = self.conn.execute(_SELECT_AGENTS + " WHERE a.task_id = ? ORDER BY a.attempt", (task_id,)).fetchall()
        return self._attach_fires([self._agent_from_row(r) for r in rows])

    @_guarded
    def events(self, *, attempt_id: str | None = None, task_id: str | None = None,
               kinds: tuple[str, ...] | None = None, since_id: int = 0, limit: int = 1000,
               newest: bool = False) -> list[dict[str, Any]]:
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
        return [{"id": r["id"], "at": r["at"], "attempt_id": r["attempt_id"], "task_id": r["task_id"],
                 "kind": r["kind"], "data": json.loads(r["data"])} for r in rows]

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


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    """Python values to column values: dicts as JSON, booleans as 0/1, enums as text."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, dict):
            value = json.dumps(value, default=str)
        elif isinstance(value, list):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = int(value)
        elif isinstance(value, str):
            value = str(value)  # a StrEnum member is stored as its plain value
        out[key] = value
    return out


__all__ = ["NotFound", "Registry", "RegistryError", "RegistryGone", "StorageError", "storage_error"]
