"""Batches: many tasks in one request (``jarvis spawn --batch``, the MCP ``spawn_batch`` tool).

The whole batch is checked before anything is recorded: one bad task (bad JSON, an unknown
profile, a dependency cycle...) rejects it, naming the task (``tasks[2]``) and why, and
nothing is created. Then every task is recorded in ONE transaction, and admission decides
which start now.

Format (a JSON object, or just the list of tasks)::

    {"strategy": "parallel", "base": "feature/login",
     "tasks": [{"name": "auth", "prompt": "...", "title": "...", "agent": "claude", "priority": "high",
                "kind": "analysis", "scope": ["src/auth/**"], "after": ["other"], "ticket": "PROJ-7",
                "hold": false, "max_attempts": 2}, ...]}

``after`` names tasks of the same batch (their ``name`` or index) or agents that already
exist (any unique prefix of an id). Strategies:

- ``parallel``: every task queued at once; admission decides when each starts (now, or as
  slots free), exactly as separate spawns would.
- ``sequential``: each task after the previous one (it starts when that one is done; a
  failure blocks the rest).
- ``auto``: as parallel, but the batch never runs more tasks at once than admission would
  start right now (its width, at least 1: on a busy machine the batch does not take every
  slot that frees later); the rest wait their turn (queue reason ``batch``).

``base``: the branch (or commit) every task starts from: the orchestrator's current branch,
so workers share its context. Default: ``[supervisor] base``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import dispatch, spawn
from .errors import SupervisorError, UnknownAgent, UsageError
from .models import QUEUED, Agent

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.batch")

STRATEGIES = ("parallel", "sequential", "auto")
TASK_KEYS = ("name", "title", "prompt", "agent", "priority", "kind", "scope", "after", "ticket", "hold", "max_attempts")
BATCH_KEYS = ("strategy", "base", "tasks")
MAX_TASKS = 1000


class BatchError(UsageError):
    """The batch was refused: nothing was created."""


@dataclass(frozen=True)
class Planned:
    spec: spawn.TaskSpec
    local: tuple[int, ...]  # indexes of the batch's own tasks it starts after
    name: str | None = None


@dataclass
class Batch:
    """A checked batch, ready to record."""

    strategy: str
    base: str | None
    tasks: list[Planned]


@dataclass
class Spawned:
    batch: str
    strategy: str
    width: int | None
    base: str | None
    agents: list[Agent] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``jarvis spawn --batch --json`` and the MCP ``spawn_batch`` result."""
        return {
            "batch": self.batch,
            "strategy": self.strategy,
            "width": self.width,
            "base": self.base,
            "agents": [a.to_json() for a in self.agents],
        }


def load(text: str | bytes) -> Any:
    """The batch file's JSON, or a :class:`BatchError` saying where it is broken."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BatchError(f"batch: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise BatchError(f"batch: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _strings(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise BatchError(f"{where}: {key} must be a string or a list of strings")


def check(sup: Supervisor, data: Any) -> Batch:
    """Every task checked, references resolved, cycles refused; nothing recorded."""
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict):
        raise BatchError('batch: expected a JSON object with "tasks" (or a list of tasks)')
    unknown = sorted(set(data) - set(BATCH_KEYS))
    if unknown:
        raise BatchError(f"batch: unknown key {unknown[0]!r} (known: {', '.join(BATCH_KEYS)})")
    strategy = data.get("strategy", "parallel")
    if strategy not in STRATEGIES:
        raise BatchError(f"batch: unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    base = data.get("base")
    if base is not None and not isinstance(base, str):
        raise BatchError("batch: base must be a branch or commit name")
    if base is not None and (problem := spawn.base_problem(sup, base)):
        raise BatchError(f"batch: {problem}")
    raw = data.get("tasks")
    if not isinstance(raw, list) or not raw:
        raise BatchError('batch: "tasks" must be a non-empty list')
    if len(raw) > MAX_TASKS:
        raise BatchError(f"batch: {len(raw)} tasks, over the limit of {MAX_TASKS}")
    names: dict[str, int] = {}
    for index, task in enumerate(raw):
        if isinstance(task, dict) and isinstance(task.get("name"), str):
            if task["name"] in names:
                raise BatchError(f"tasks[{index}]: name {task['name']!r} is already tasks[{names[task['name']]}]'s")
            names[task["name"]] = index
    planned = [_check_task(sup, task, index, len(raw), names, base, strategy) for index, task in enumerate(raw)]
    _refuse_cycles(planned)
    return Batch(strategy=strategy, base=base, tasks=planned)


def _check_task(
    sup: Supervisor, task: Any, index: int, count: int, names: dict[str, int], base: str | None, strategy: str
) -> Planned:
    where = f"tasks[{index}]"
    if not isinstance(task, dict):
        raise BatchError(f'{where}: expected an object with at least a "prompt"')
    unknown = sorted(set(task) - set(TASK_KEYS))
    if unknown:
        raise BatchError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(TASK_KEYS)})")
    for key in ("name", "title", "prompt", "agent", "priority", "kind", "ticket"):
        if key in task and task[key] is not None and not isinstance(task[key], str):
            raise BatchError(f"{where}: {key} must be a string")
    if not isinstance(task.get("prompt"), str):
        raise BatchError(f"{where}: no prompt")
    if not isinstance(task.get("hold", False), bool):
        raise BatchError(f"{where}: hold must be true or false")
    max_attempts = task.get("max_attempts")
    if max_attempts is not None and (not isinstance(max_attempts, int) or isinstance(max_attempts, bool)):
        raise BatchError(f"{where}: max_attempts must be a whole number")
    scope = _strings(task["scope"], where, "scope") if task.get("scope") is not None else []
    local: list[int] = []
    outside: list[str] = []
    refs = task.get("after")
    for ref in refs if isinstance(refs, list) else [] if refs is None else [refs]:
        if isinstance(ref, int) and not isinstance(ref, bool):
            if not 0 <= ref < count or ref == index:
                raise BatchError(f"{where}: after {ref}: not another task of this batch (0 to {count - 1})")
            local.append(ref)
            continue
        if not isinstance(ref, str):
            raise BatchError(f"{where}: after must name tasks (a name, an index or an agent id)")
        for part in spawn.split_after(ref):
            if part in names:
                if names[part] == index:
                    raise BatchError(f"{where}: after {part!r}: a task cannot wait for itself")
                local.append(names[part])
            else:
                outside.append(part)
    if strategy == "sequential" and index > 0:
        local.append(index - 1)
    try:
        spec = spawn.validate(
            sup,
            task["prompt"],
            agent=task.get("agent"),
            title=task.get("title"),
            priority=task.get("priority") or "medium",
            after=outside,
            max_attempts=max_attempts,
            scope=scope,
            ticket=task.get("ticket"),
            kind=task.get("kind"),
            base=None,
            hold=bool(task.get("hold", False)),
        )
    except UnknownAgent as exc:
        raise UnknownAgent(f"{where}: after: {exc}") from None
    except SupervisorError as exc:
        raise BatchError(f"{where}: {exc}") from None
    if base is not None:
        spec = dataclasses.replace(spec, base=base)
    return Planned(spec=spec, local=tuple(dict.fromkeys(local)), name=task.get("name"))


def _refuse_cycles(planned: Sequence[Planned]) -> None:
    state: dict[int, int] = {}  # 1 visiting, 2 done
    path: list[int] = []

    def visit(i: int) -> None:
        state[i] = 1
        path.append(i)
        for j in planned[i].local:
            if state.get(j) == 1:
                loop = [*path[path.index(j) :], j]
                raise BatchError(
                    "batch: a cycle in after: " + " after ".join(f"tasks[{k}]" for k in loop) + "; nothing was created"
                )
            if state.get(j) is None:
                visit(j)
        path.pop()
        state[i] = 2

    for i in range(len(planned)):
        if state.get(i) is None:
            visit(i)


def _order(planned: Sequence[Planned]) -> list[int]:
    """Indexes with every task's dependencies before it (rows reference their dependencies)."""
    done: list[int] = []
    seen: set[int] = set()

    def visit(i: int) -> None:
        if i in seen:
            return
        seen.add(i)
        for j in planned[i].local:
            visit(j)
        done.append(i)

    for i in range(len(planned)):
        visit(i)
    return done


def width_now(sup: Supervisor, batch: Batch) -> int:
    """How many of the batch's ready tasks admission would start right now (at least 1)."""
    probes = [
        Agent(
            id=f"probe{i}",
            task_id=f"probe{i}",
            title=p.spec.title,
            prompt=p.spec.prompt,
            agent=p.spec.profile,
            priority=p.spec.priority,
            status=QUEUED,
            attempt=1,
            created_at=sup.clock() + i * 1e-6,
            scope=list(p.spec.scope),
        )
        for i, p in enumerate(batch.tasks)
        if not p.local and not p.spec.after and not p.spec.hold
    ]
    entries = dispatch.preview(sup, extra=probes)
    return max(1, sum(1 for e in entries if e.start and e.agent.id.startswith("probe")))


def spawn_batch(sup: Supervisor, data: Any) -> Spawned:
    """Check the whole batch, record it in one transaction, start what admission allows."""
    batch = check(sup, data)
    if batch.base is None:
        spawn.check_base(sup, batch.tasks[0].spec)
    width = width_now(sup, batch) if batch.strategy == "auto" else None
    now = sup.clock()
    claims = []
    with sup.registry.transaction() as conn:
        ids: list[str] = []
        while len(ids) < len(batch.tasks):
            candidate = sup.registry.new_id()
            if candidate not in ids:
                ids.append(candidate)
        batch_id = _new_batch_id(sup)
        for i in _order(batch.tasks):
            planned = batch.tasks[i]
            deps = [*planned.spec.after, *(ids[j] for j in planned.local)]
            spawn.record(
                sup,
                conn,
                planned.spec,
                task_id=ids[i],
                now=now + i * 1e-6,
                after=deps,
                batch=batch_id,
                batch_width=width,
            )
        sup.registry.add_event(
            "batch",
            None,
            None,
            conn=conn,
            now=now,
            batch=batch_id,
            strategy=batch.strategy,
            width=width,
            base=batch.base,
            tasks=ids,
        )
        for agent_id, planned in zip(ids, batch.tasks, strict=True):
            if not planned.spec.hold:
                _, claim = sup.admit(agent_id, order=True)
                if claim is not None:
                    claims.append((agent_id, claim))
    log.info("batch %s: %d tasks (%s%s)", batch_id, len(ids), batch.strategy, f", width {width}" if width else "")
    for agent_id, claim in claims:
        try:
            sup.start(agent_id, claim)
        except SupervisorError as exc:  # recorded as failed by the start itself; the others go on
            log.warning("%s could not start: %s", agent_id, exc)
    return Spawned(
        batch=batch_id,
        strategy=batch.strategy,
        width=width,
        base=batch.base,
        agents=[sup.registry.get(agent_id) for agent_id in ids],
    )


def _new_batch_id(sup: Supervisor) -> str:
    while True:
        candidate = "b" + secrets.token_hex(3)
        if not sup.registry.query("SELECT 1 FROM tasks WHERE batch = ? LIMIT 1", (candidate,)):
            return candidate


__all__ = [
    "BATCH_KEYS",
    "STRATEGIES",
    "TASK_KEYS",
    "Batch",
    "BatchError",
    "Spawned",
    "check",
    "load",
    "spawn_batch",
    "width_now",
]
