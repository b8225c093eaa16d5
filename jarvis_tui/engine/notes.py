"""Shared findings: notes that workers (or an orchestrator) record on their tasks, pooled for
the tasks that start after them.

``jarvis note TEXT`` inside an agent's session records a finding on its task (found by
``JARVIS_AGENT_ID``). When a task that runs ``--after`` others starts, its dependencies'
notes are rendered (:func:`render`) into ``sessions/<id>/findings.md`` (``JARVIS_FINDINGS_FILE``)
and in place of every ``{findings}`` in its prompt, so the aggregating task of a map-reduce
sees what the parallel ones learnt. A task with no dependencies keeps its prompt byte for
byte, ``{findings}`` and all.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import UsageError
from .models import Agent, Note

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.notes")

PLACEHOLDER = "{findings}"
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_TEXT = 64 * 1024
NONE_RECORDED = "(no findings recorded)"


def check(text: str, tag: str | None) -> None:
    if not text.strip():
        raise UsageError("the note is empty")
    if "\x00" in text:
        raise UsageError("the note contains a NUL byte")
    if len(text.encode("utf-8", "surrogateescape")) > MAX_TEXT:
        raise UsageError(
            f"the note is over {MAX_TEXT // 1024} KiB: keep findings short (point to a file in the branch)"
        )
    if tag is not None and not TAG.fullmatch(tag):
        raise UsageError(f"tag {tag!r}: use one short word (letters, digits, '.', '_', '-'), e.g. risk")


def add(
    sup: Supervisor, ident: str, text: str, *, tag: str | None = None, author: str = "", by_agent: bool = False
) -> Note:
    """Record ``text`` on the task of agent ``ident``; ``by_agent``: the agent itself wrote it
    (its attempt is recorded with the note)."""
    check(text, tag)
    agent = sup.get(ident)
    now = sup.clock()
    attempt_id = agent.id if by_agent else None
    with sup.registry.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO notes (task_id, attempt_id, at, tag, text, author) VALUES (?, ?, ?, ?, ?, ?)",
            (agent.task_id, attempt_id, now, tag, text, author),
        )
        note_id = int(cursor.lastrowid or 0)
        sup.registry.add_event(
            "note", attempt_id, agent.task_id, conn=conn, now=now, note_id=note_id, tag=tag, author=author
        )
    log.info("%s: note %d recorded%s", agent.task_id, note_id, f" [{tag}]" if tag else "")
    return Note(id=note_id, task_id=agent.task_id, attempt_id=attempt_id, at=now, tag=tag, text=text, author=author)


def notes(
    sup: Supervisor, *, tasks: Sequence[str] | None = None, tag: str | None = None, limit: int = 10_000
) -> list[Note]:
    """Notes in the order they were recorded; ``tasks``: only on these task ids."""
    sql = "SELECT * FROM notes WHERE 1 = 1"
    params: list[object] = []
    if tasks is not None:
        if not tasks:
            return []
        sql += f" AND task_id IN ({', '.join('?' * len(tasks))})"
        params.extend(tasks)
    if tag is not None:
        sql += " AND tag = ?"
        params.append(tag)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    return [
        Note(
            id=r["id"],
            task_id=r["task_id"],
            attempt_id=r["attempt_id"],
            at=r["at"],
            tag=r["tag"],
            text=r["text"],
            author=r["author"],
        )
        for r in sup.registry.query(sql, params)
    ]


def render(sections: Sequence[tuple[Agent, Sequence[Note]]]) -> str:
    """The findings of each dependency, as Markdown an agent reads::

        ## Findings from task 3fa2c1: Analyse the auth module (done)
        - [risk] token refresh is untested
        - the login path has no rate limit

    (a note's further lines are indented under it; a task without notes says so).
    """
    parts = []
    for dep, found in sections:
        title = " ".join(dep.title.split())
        lines = [f"## Findings from task {dep.task_id}: {title} ({dep.status})"]
        for note in found:
            first, *rest = note.text.strip("\n").split("\n")
            lines.append(f"- {f'[{note.tag}] ' if note.tag else ''}{first}")
            lines.extend(f"  {line}" if line else "" for line in rest)
        if not found:
            lines.append(NONE_RECORDED)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def findings_for(sup: Supervisor, agent: Agent) -> str:
    """What ``agent``'s dependencies found, rendered (\"\" when it has none)."""
    deps = agent.dependencies
    if not deps:
        return ""
    by_task: dict[str, list[Note]] = {task: [] for task in deps}
    for note in notes(sup, tasks=deps):
        by_task[note.task_id].append(note)
    latest = {a.task_id: a for a in sup.registry.agents(include_removed=True, latest_only=True) if a.task_id in by_task}
    return render([(latest[task], by_task[task]) for task in deps if task in latest])


def prepare(sup: Supervisor, agent: Agent) -> tuple[Agent, dict[str, str]]:
    """At its start: ``agent`` with ``{findings}`` filled in, and the environment that names
    the findings file (nothing changes for a task without dependencies)."""
    if not agent.dependencies:
        return agent, {}
    text = findings_for(sup, agent)
    path = sup.paths.findings(agent.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes((text + "\n").encode("utf-8", "surrogateescape"))
    os.replace(tmp, path)
    prompt = agent.prompt.replace(PLACEHOLDER, text)
    return dataclasses.replace(agent, prompt=prompt), {"JARVIS_FINDINGS_FILE": str(path)}


__all__ = ["PLACEHOLDER", "add", "check", "findings_for", "notes", "prepare", "render"]
