"""The registry's reads: agents (a row with its fires and dependencies: one query each for any
number of agents), ids, events, and the plain query the engine modules owning their own
tables use. Writes and the schema are in :mod:`.registry`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .database import Database, guarded
from .models import Agent, FireRecord
from .rows import SELECT_AGENTS, agent_from_row
from .storage import NotFound


class RegistryReads(Database):
    # id -> (its row as read, the Agent decoded from it): a tick reads the same unchanged rows
    # several times (reconcile, sampling, policies, the table), and decoding ~70 columns into an
    # Agent is the costly part of a read. A row equal to the one cached gives a copy of its
    # Agent (fresh lists: callers and _complete append to them); any changed column decodes anew.
    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        super().__init__(path, timeout=timeout)
        self._decoded: dict[str, tuple[tuple[Any, ...], Agent]] = {}

    def _agent(self, row: sqlite3.Row) -> Agent:
        values = tuple(row)
        hit = self._decoded.get(row["id"])
        if hit is None or hit[0] != values:
            hit = (values, agent_from_row(row))
            self._decoded[row["id"]] = hit
        agent = _copy(hit[1])
        agent.fires, agent.after_tasks = [], []
        return agent

    @guarded
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

    @guarded
    def get(self, attempt_id: str) -> Agent:
        row = self.conn.execute(SELECT_AGENTS + " WHERE a.id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise NotFound(f"no agent with id {attempt_id!r}")
        return self._complete([self._agent(row)])[0]

    @guarded
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
        # A tick asks for the agents several times (reconcile, each policy, dispatch, the
        # table); while nothing was written anywhere, the answer is the one already read.
        stamp = self.changes_stamp()
        reads: tuple[tuple[int, int], dict[Any, list[Agent]]] | None = self._local.reads
        if reads is None or reads[0] != stamp:
            reads = (stamp, {})
            self._local.reads = reads
        key = (include_removed, latest_only, tuple(params))
        if key not in reads[1]:
            sql = (
                SELECT_AGENTS
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY t.created_at, a.attempt, a.id"
            )
            reads[1][key] = self._complete([self._agent(r) for r in self.conn.execute(sql, params).fetchall()])
        return [_copy(agent) for agent in reads[1][key]]  # copies: callers change what they get

    @guarded
    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        """A read for the engine modules that own their own tables (notes, orchestrators)."""
        return self.conn.execute(sql, params).fetchall()

    @guarded
    def latest_of(self, *task_ids: str) -> dict[str, Agent]:
        """The latest attempt of each of these tasks (removed ones included), by task id."""
        if not task_ids:
            return {}
        rows = self.conn.execute(
            SELECT_AGENTS + f" WHERE a.task_id IN ({', '.join('?' * len(task_ids))})"
            " AND a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)",
            task_ids,
        ).fetchall()
        return {a.task_id: a for a in self._attach_fires([self._agent(r) for r in rows])}

    @guarded
    def ids(self, where: str, params: tuple[Any, ...] = ()) -> list[str]:
        """Ids of attempts matching an SQL condition: a cheap question for every tick."""
        return [r["id"] for r in self.conn.execute(f"SELECT id FROM attempts WHERE {where}", params).fetchall()]

    @guarded
    def attempts_of(self, task_id: str) -> list[Agent]:
        rows = self.conn.execute(SELECT_AGENTS + " WHERE a.task_id = ? ORDER BY a.attempt", (task_id,)).fetchall()
        return self._complete([self._agent(r) for r in rows])

    @guarded
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


def _copy(agent: Agent) -> Agent:
    """A copy whose lists and dicts are its own (a shallow copy would share them)."""
    copy: Agent = object.__new__(Agent)
    copy.__dict__.update(agent.__dict__)
    copy.fires, copy.after_tasks = list(agent.fires), list(agent.after_tasks)
    copy.scope, copy.overlaps, copy.out_of_scope = list(agent.scope), list(agent.overlaps), list(agent.out_of_scope)
    if agent.stop_request is not None:
        copy.stop_request = dict(agent.stop_request)
    return copy


__all__ = ["RegistryReads"]
