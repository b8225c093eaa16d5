"""The one registry: SQLite in WAL mode under ``sessions/``.

The dashboard, every CLI process and the agents' own reports read and write it. Writers
take ``BEGIN IMMEDIATE`` so two processes serialise instead of deadlocking, and
``busy_timeout`` makes the second one wait rather than fail. Each thread gets its own
connection (sqlite3 connections are not shared across threads).

Schema changes are numbered migrations applied in order; ``PRAGMA user_version`` records
how far a database has come.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .models import Agent, FireRecord

MIGRATIONS: list[str] = [
    # 1: tasks, attempts, fires, events
    """
    CREATE TABLE tasks (
        id           TEXT PRIMARY KEY,
        title        TEXT NOT NULL,
        prompt       TEXT NOT NULL,
        priority     TEXT NOT NULL,
        profile      TEXT NOT NULL,
        created_at   REAL NOT NULL,
        after_task_id TEXT REFERENCES tasks(id),
        max_attempts INTEGER
    );
    CREATE TABLE attempts (
        id            TEXT PRIMARY KEY,
        task_id       TEXT NOT NULL REFERENCES tasks(id),
        attempt       INTEGER NOT NULL,
        profile       TEXT NOT NULL,
        status        TEXT NOT NULL,
        created_at    REAL NOT NULL,
        branch        TEXT,
        worktree      TEXT,
        tmux_session  TEXT,
        pane_id       TEXT,
        pid           INTEGER,
        base_commit   TEXT,
        exit_code     INTEGER,
        started_at    REAL,
        ended_at      REAL,
        last_output_at REAL,
        heartbeat_at  REAL,
        heartbeat_note TEXT,
        status_reason TEXT,
        queue_reason  TEXT,
        summary       TEXT,
        retry_context TEXT,
        reported_status TEXT,
        not_before    REAL,
        preserved_ref TEXT,
        start_point   TEXT,
        start_ref     TEXT,
        removed       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (task_id, attempt)
    );
    CREATE INDEX attempts_status ON attempts(status);
    CREATE TABLE fires (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        attempt_id TEXT NOT NULL REFERENCES attempts(id),
        reason     TEXT NOT NULL,
        note       TEXT NOT NULL DEFAULT '',
        at         REAL NOT NULL,
        ref        TEXT,
        automatic  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX fires_attempt ON fires(attempt_id);
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         REAL NOT NULL,
        attempt_id TEXT,
        task_id    TEXT,
        kind       TEXT NOT NULL,
        data       TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_attempt ON events(attempt_id);
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: a fire in progress (reconcile must not record the kill as a failure)
    """
    ALTER TABLE attempts ADD COLUMN firing_at REAL;
    """,
    # 3: a task's events (show, the detail view) without scanning the whole log
    """
    CREATE INDEX events_task ON events(task_id, id);
    """,
]

_ATTEMPT_COLUMNS = (
    "branch", "worktree", "tmux_session", "pane_id", "pid", "base_commit", "exit_code",
    "started_at", "ended_at", "last_output_at", "heartbeat_at", "heartbeat_note",
    "status_reason", "queue_reason", "summary", "retry_context", "reported_status",
    "not_before", "preserved_ref", "start_point", "start_ref", "removed", "status", "firing_at",
)

_SELECT_AGENTS = """
SELECT a.*, t.title, t.prompt, t.priority, t.after_task_id, t.max_attempts,
       t.created_at AS task_created_at,
       (a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)) AS latest
FROM attempts a JOIN tasks t ON t.id = a.task_id
"""


class RegistryError(Exception):
    pass


class NotFound(RegistryError):
    pass


class Registry:
    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # ------------------------------------------------------------------ connections

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken up front so concurrent writers queue, never deadlock."""
        conn = self.conn
        if conn.in_transaction:  # nested: join the outer one
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RegistryError(
                    f"{self.path} has schema version {version}, newer than this jarvis "
                    f"({len(MIGRATIONS)}); upgrade jarvis-tui"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # ------------------------------------------------------------------ ids

    def new_id(self) -> str:
        """Six hex digits, unique among tasks and attempts (both share the space)."""
        for _ in range(100):
            candidate = secrets.token_hex(3)
            row = self.conn.execute(
                "SELECT 1 FROM attempts WHERE id = ? UNION SELECT 1 FROM tasks WHERE id = ?",
                (candidate, candidate),
            ).fetchone()
            if row is None:
                return candidate
        raise RegistryError("could not find a free id")

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
            return ids[0]
        if prefix in ids:
            return prefix
        if not ids:
            raise NotFound(f"no agent with id {prefix!r}")
        raise NotFound(f"id {prefix!r} is ambiguous: {', '.join(sorted(ids))}")

    # ------------------------------------------------------------------ writes

    def create_task(
        self, conn: sqlite3.Connection, *, task_id: str, title: str, prompt: str, priority: str,
        profile: str, after_task_id: str | None = None, max_attempts: int | None = None,
        now: float | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO tasks (id, title, prompt, priority, profile, created_at, after_task_id, max_attempts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, title, prompt, priority, profile, now or time.time(), after_task_id, max_attempts),
        )

    def create_attempt(
        self, conn: sqlite3.Connection, *, attempt_id: str, task_id: str, attempt: int, profile: str,
        status: str, now: float | None = None, **fields: Any,
    ) -> None:
        columns = ["id", "task_id", "attempt", "profile", "status", "created_at"]
        values: list[Any] = [attempt_id, task_id, attempt, profile, status, now or time.time()]
        for key, value in fields.items():
            if key not in _ATTEMPT_COLUMNS:
                raise KeyError(key)
            columns.append(key)
            values.append(value)
        conn.execute(
            f"INSERT INTO attempts ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})",
            values,
        )

    def update_attempt(
        self, attempt_id: str, *, expect_status: str | frozenset[str] | None = None,
        unless_firing_since: float | None = None, **fields: Any,
    ) -> bool:
        """Update fields; with ``expect_status`` only if the status still is that (compare-and-set).

        With ``unless_firing_since``, also only if no fire has claimed the agent since then.
        Returns whether a row changed, so two reconcilers never both log one transition.
        """
        if not fields:
            return False
        for key in fields:
            if key not in _ATTEMPT_COLUMNS:
                raise KeyError(key)
        sets = ", ".join(f"{k} = ?" for k in fields)
        params: list[Any] = list(fields.values())
        sql = f"UPDATE attempts SET {sets} WHERE id = ?"
        params.append(attempt_id)
        if expect_status is not None:
            statuses = [expect_status] if isinstance(expect_status, str) else sorted(expect_status)
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            params.extend(statuses)
        if unless_firing_since is not None:
            sql += " AND (firing_at IS NULL OR firing_at < ?)"
            params.append(unless_firing_since)
        with self.transaction() as conn:
            return conn.execute(sql, params).rowcount == 1

    def claim_firing(self, attempt_id: str, now: float, *, stale_after: float) -> bool:
        """Mark a fire in progress; False if the agent is fired or another fire is under way."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE attempts SET firing_at = ? WHERE id = ? AND status != 'fired'"
                " AND (firing_at IS NULL OR firing_at < ?)",
                (now, attempt_id, now - stale_after),
            ).rowcount == 1

    def add_fire(
        self, conn: sqlite3.Connection, attempt_id: str, reason: str, note: str, ref: str | None,
        *, automatic: bool = False, now: float | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO fires (attempt_id, reason, note, at, ref, automatic) VALUES (?, ?, ?, ?, ?, ?)",
            (attempt_id, reason, note, now or time.time(), ref, int(automatic)),
        )

    def add_event(
        self, kind: str, attempt_id: str | None = None, task_id: str | None = None,
        *, conn: sqlite3.Connection | None = None, now: float | None = None, **data: Any,
    ) -> int:
        sql = "INSERT INTO events (at, attempt_id, task_id, kind, data) VALUES (?, ?, ?, ?, ?)"
        params = (now or time.time(), attempt_id, task_id, kind, json.dumps(data, default=str))
        if conn is not None:
            return conn.execute(sql, params).lastrowid or 0
        with self.transaction() as c:
            return c.execute(sql, params).lastrowid or 0

    # ------------------------------------------------------------------ reads

    def _agent_from_row(self, row: sqlite3.Row) -> Agent:
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
            start_ref=row["start_ref"], firing_at=row["firing_at"],
            task_created_at=row["task_created_at"], removed=bool(row["removed"]),
            latest=bool(row["latest"]), max_attempts=row["max_attempts"],
        )

    def _attach_fires(self, agents: list[Agent]) -> list[Agent]:
        if not agents:
            return agents
        by_id = {a.id: a for a in agents}
        rows = self.conn.execute(
            f"SELECT * FROM fires WHERE attempt_id IN ({', '.join('?' * len(by_id))}) ORDER BY id",
            list(by_id),
        ).fetchall()
        for row in rows:
            by_id[row["attempt_id"]].fires.append(
                FireRecord(reason=row["reason"], note=row["note"], at=row["at"], ref=row["ref"],
                           automatic=bool(row["automatic"]))
            )
        return agents

    def get(self, attempt_id: str) -> Agent:
        row = self.conn.execute(_SELECT_AGENTS + " WHERE a.id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agent with id {attempt_id!r}")
        return self._attach_fires([self._agent_from_row(row)])[0]

    def agents(self, *, include_removed: bool = False, latest_only: bool = False,
               statuses: frozenset[str] | None = None) -> list[Agent]:
        where = []
        params: list[Any] = []
        if not include_removed:
            where.append("a.removed = 0")
        if statuses is not None:
            where.append(f"a.status IN ({', '.join('?' * len(statuses))})")
            params.extend(sorted(statuses))
        if latest_only:  # in SQL: history does not make a tick slower
            where.append("a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)")
        sql = _SELECT_AGENTS + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.created_at, a.attempt, a.id"
        agents = [self._agent_from_row(r) for r in self.conn.execute(sql, params).fetchall()]
        return self._attach_fires(agents)

    def attempts_of(self, task_id: str) -> list[Agent]:
        rows = self.conn.execute(
            _SELECT_AGENTS + " WHERE a.task_id = ? ORDER BY a.attempt", (task_id,)
        ).fetchall()
        return self._attach_fires([self._agent_from_row(r) for r in rows])

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
        return [
            {"id": r["id"], "at": r["at"], "attempt_id": r["attempt_id"], "task_id": r["task_id"],
             "kind": r["kind"], "data": json.loads(r["data"])}
            for r in rows
        ]

    # ------------------------------------------------------------------ meta (leases, settings)

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

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
