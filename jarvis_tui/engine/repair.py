"""Repairs: find what the registry does not know about, end or preserve it, and rebuild a
lost registry from the agents' own records.

- :func:`find_orphans`: tmux sessions of unknown, removed or fired agents; processes
  still tagged with an ended agent's id; folders under ``worktrees/`` no agent refers to;
  active agents whose session is gone; agents held by a dead claim.
- :func:`fix` (``jarvis doctor --fix``): ends orphan sessions and tagged processes, and
  removes orphan worktrees AFTER preserving their files to ``refs/jarvis/orphan/<name>``
  (a folder that is not verifiably a worktree of the repository is left alone).
- :func:`adopt` (``jarvis doctor --adopt``): re-imports agents from ``sessions/<id>/spec.json``
  into the registry (a new one if it was lost), live sessions as running agents, so a lost
  registry loses no running agent.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import claims
from .git import worktrees
from .models import ACTIVE, ENDED, FIRED, STARTING, Status
from .paths import agent_of_session
from .resources import process_tree, terminate

if TYPE_CHECKING:
    from .config import Config
    from .supervisor import Supervisor

log = logging.getLogger("jarvis.repair")


@dataclass
class Orphans:
    sessions: list[str] = field(default_factory=list)
    processes: list[tuple[int, str]] = field(default_factory=list)  # (pid, agent id)
    worktrees: list[Path] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # active agents whose session is gone
    stuck: list[str] = field(default_factory=list)  # starting, or held by a dead claim

    def __bool__(self) -> bool:
        return bool(self.sessions or self.processes or self.worktrees or self.lost or self.stuck)


def find_orphans(sup: Supervisor) -> Orphans:
    found = Orphans()
    agents = {a.id: a for a in sup.registry.agents(include_removed=True)}
    sessions = sup.tmux.sessions()
    for name in sessions:
        agent_id = agent_of_session(name)
        if agent_id is None:
            continue
        agent = agents.get(agent_id)
        if agent is None or agent.removed or agent.status == FIRED:
            found.sessions.append(name)
    now = sup.clock()
    for agent in agents.values():
        if agent.status in ENDED:
            found.processes.extend((p.pid, agent.id) for p in process_tree(None, agent.id))
        if agent.status in ACTIVE and agent.tmux_session and agent.tmux_session not in sessions:
            found.lost.append(agent.id)
        dead_claim = agent.claim is not None and not claims.alive(agent.claim, now)
        if dead_claim or (agent.status == STARTING and agent.claim is None):
            found.stuck.append(agent.id)
    referenced = {Path(a.worktree).resolve() for a in agents.values() if a.worktree}
    if sup.paths.worktrees.is_dir():
        found.worktrees = [
            p for p in sorted(sup.paths.worktrees.iterdir()) if p.is_dir() and p.resolve() not in referenced
        ]
    return found


def fix(sup: Supervisor, orphans: Orphans) -> list[str]:
    """End orphan sessions and processes; preserve, then remove, orphan worktrees. What was done."""
    done: list[str] = []
    for name in orphans.sessions:
        agent_id = agent_of_session(name) or ""
        procs = process_tree(None, agent_id) if agent_id else []
        pane = sup.tmux.list_panes().get(name)
        if pane is not None and pane.pid:
            procs += [p for p in process_tree(pane.pid) if p.pid not in {q.pid for q in procs}]
        terminate(procs, sup.config.supervisor.kill_grace)
        sup.tmux.kill_session(name)
        done.append(f"ended orphan session {name}" + (f" ({len(procs)} process(es))" if procs else ""))
    pids = [pid for pid, _ in orphans.processes]
    if pids:
        import psutil

        procs = []
        for pid in pids:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:
                continue
        terminate(procs, sup.config.supervisor.kill_grace)
        done.extend(f"killed process {pid} left by agent {agent_id}" for pid, agent_id in orphans.processes)
    for path in orphans.worktrees:
        done.append(_fix_worktree(sup, path))
    for line in done:
        log.info("doctor --fix: %s", line)
        sup.registry.add_event("repair", action=line)
    return done


def _fix_worktree(sup: Supervisor, path: Path) -> str:
    broken = worktrees.verify(sup.repo, path)
    if broken:
        return f"left {path} in place: {broken} (inspect it by hand)"
    ref = f"refs/jarvis/orphan/{worktrees.slugify(path.name, 64)}"
    try:
        commit = worktrees.snapshot(path, ref, f"jarvis: files of orphan worktree {path.name}")
        if commit is None and not worktrees.ref_exists(sup.repo, ref):
            # nothing uncommitted: keep its HEAD reachable all the same (it may be detached)
            worktrees.update_ref(sup.repo, ref, worktrees.resolve_commit(path, "HEAD"), None)
        worktrees.remove(sup.repo, path)
    except worktrees.WorktreeError as exc:
        return f"left {path} in place: could not preserve it ({exc})"
    sha = worktrees.resolve_commit(sup.repo, ref)
    return f"removed orphan worktree {path} after preserving its files at {ref} ({sha[:10]})"


# --------------------------------------------------------------------------- adopt


def adopt(sup: Supervisor) -> list[str]:
    """Re-import agents from their spec files into the registry; returns what was adopted."""
    known = {a.id for a in sup.registry.agents(include_removed=True)}
    panes = sup.tmux.list_panes()
    adopted: list[str] = []
    deps: dict[str, list[str]] = {}  # task -> the tasks its record says it comes after
    for spec_path in sup.paths.records():
        agent_id = spec_path.parent.name
        if agent_id in known:
            continue
        try:
            spec = json.loads(spec_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            adopted.append(f"skipped {agent_id}: unreadable spec ({exc})")
            continue
        adopted.append(_adopt_one(sup, agent_id, spec, panes))
        record = spec.get("record") or {}
        after = record.get("after_tasks") or ([record["after"]] if record.get("after") else [])
        if after:
            deps[str(record.get("task_id") or agent_id)] = [str(d) for d in after]
    # Second pass: a task's dependencies may be adopted after it (foreign keys need both).
    for task_id, after in deps.items():
        if restored := sup.registry.restore_dependencies(task_id, after):
            adopted.append(f"task {task_id} comes after {', '.join(restored)} again")
    for line in adopted:
        log.warning("doctor --adopt: %s", line)
    return adopted


def _adopt_one(sup: Supervisor, agent_id: str, spec: dict[str, Any], panes: dict[str, Any]) -> str:
    record = spec.get("record") or {}
    env = spec.get("env") or {}
    task_id = record.get("task_id") or env.get("JARVIS_TASK_ID") or agent_id
    prompt_path = sup.paths.task_prompt(agent_id)
    if not prompt_path.exists():
        prompt_path = sup.paths.prompt(agent_id)
    prompt = prompt_path.read_text(encoding="utf-8", errors="surrogateescape") if prompt_path.exists() else "(lost)"
    title = record.get("title") or (prompt.strip().splitlines()[0][:72] if prompt.strip() else agent_id)
    worktree = sup.paths.worktree(agent_id)
    pane = panes.get(f"jarvis-{agent_id}")
    exit_code, note, ended_at = sup.read_exit(agent_id)
    now = time.time()
    if exit_code is not None:
        status, reason = (Status.DONE, "exited 0") if exit_code == 0 else (Status.FAILED, note or f"exited {exit_code}")
    elif pane is not None and not pane.dead:
        status, reason = Status.WORKING, "adopted: running when the registry was rebuilt"
    else:
        status, reason = Status.FAILED, "lost with the registry: no session left when it was rebuilt"
    created = float(record.get("created_at") or spec_path_mtime(sup, agent_id) or now)
    with sup.registry.transaction() as conn:
        if not sup.registry.attempts_of(task_id):
            sup.registry.create_task(
                conn,
                task_id=task_id,
                title=title,
                prompt=prompt,
                priority=record.get("priority", "medium"),
                profile=record.get("agent", "adopted"),
                after_task_id=None,
                now=created,
                ticket=record.get("ticket"),
                kind=record.get("kind"),
                budget_usd=record.get("budget_usd"),
            )
        attempt = int(record.get("attempt") or env.get("JARVIS_ATTEMPT") or 1)
        sup.registry.create_attempt(
            conn,
            attempt_id=agent_id,
            task_id=task_id,
            attempt=attempt,
            profile=record.get("agent", "adopted"),
            status=status,
            now=created,
            branch=record.get("branch") or env.get("JARVIS_BRANCH"),
            worktree=str(worktree) if worktree.is_dir() else None,
            tmux_session=f"jarvis-{agent_id}" if pane else None,
            pane_id=pane.pane_id if pane else None,
            pid=pane.pid if pane else None,
            started_at=created,
            ended_at=ended_at if status in ENDED else None,
            exit_code=exit_code,
            status_reason=reason,
        )
        sup.registry.add_event("adopted", agent_id, task_id, conn=conn, status=str(status), reason=reason)
    return f"adopted {agent_id} as {status} ({reason})"


def spec_path_mtime(sup: Supervisor, agent_id: str) -> float | None:
    try:
        return sup.paths.spec(agent_id).stat().st_mtime
    except OSError:
        return None


def rebuild(config: Config) -> tuple[Supervisor, str | None]:
    """A Supervisor over a usable registry for ``--adopt``: a corrupt or emptied one is moved
    aside (never deleted) and a new one made. Returns (supervisor, note of what was moved)."""
    from .registry import StorageError
    from .supervisor import Supervisor

    try:
        return Supervisor(config), None
    except StorageError:
        path = config.registry_path
        note = None
        if path.exists():
            aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
            path.rename(aside)
            for suffix in ("-wal", "-shm"):
                extra = path.with_name(path.name + suffix)
                if extra.exists():
                    extra.rename(aside.with_name(aside.name + suffix))
            note = f"moved the unusable registry aside to {aside}"
        from .registry import Registry

        Registry(path, create=True).close()
        return Supervisor(config), note


__all__ = ["Orphans", "adopt", "find_orphans", "fix", "rebuild"]
