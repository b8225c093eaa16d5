"""``jarvis doctor``: is this machine and this state healthy? Finds orphans, changes nothing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import git
from .config import ConfigError, load_config
from .models import ACTIVE, ENDED
from .tmux import tmux_version

MIN_TMUX = (3, 2)
MIN_GIT = (2, 38)


@dataclass
class Check:
    name: str
    level: str  # ok, warn, fail
    detail: str
    hints: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "detail": self.detail, "hints": self.hints}


def _version_check(tool: str, version: tuple[int, int] | None, minimum: tuple[int, int]) -> Check:
    if version is None:
        return Check(tool, "fail", "not installed", [f"apt-get install {tool}"])
    ok = version >= minimum
    need = "" if ok else f" (need >= {minimum[0]}.{minimum[1]})"
    return Check(tool, "ok" if ok else "fail", f"{version[0]}.{version[1]}{need}")


def run_checks(config_path: str | None) -> list[Check]:
    checks: list[Check] = []
    checks.append(_version_check("tmux", tmux_version(), MIN_TMUX))
    checks.append(_version_check("git", git.version(), MIN_GIT))
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        checks.append(Check("config", "fail", exc.render()))
        return checks
    checks.append(Check("config", "ok", f"{config.path} ({len(config.profiles)} profiles, repo {config.supervisor.repo})"))
    for name, profile in config.profiles.items():
        exe = profile.command[0]
        if exe not in ("python", "python3", "{python}") and shutil.which(exe) is None:
            checks.append(Check(f"profile {name}", "warn", f"{exe!r} is not on PATH; spawning it will fail"))

    from .supervisor import Supervisor  # late: doctor must report a broken config first

    try:
        sup = Supervisor(config)
        integrity = sup.registry.conn.execute("PRAGMA integrity_check").fetchone()[0]
        level = "ok" if integrity == "ok" else "fail"
        checks.append(Check("registry", level, f"{config.registry_path} (schema {sup.registry.schema_version}, "
                                               f"integrity {integrity})"))
    except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
        checks.append(Check("registry", "fail", str(exc)))
        return checks

    checks.extend(_orphans(sup))
    lease = _lease(sup)
    if lease is not None:
        checks.append(lease)
    return checks


def _orphans(sup: Any) -> list[Check]:
    from .resources import process_tree

    checks: list[Check] = []
    agents = {a.id: a for a in sup.registry.agents(include_removed=True)}
    sessions = sup.tmux.sessions()
    prefix = "jarvis-"
    engine_session = "jarvis-engine"  # the headless engine's, not an agent's (headless.ENGINE_SESSION)
    sessions = [s for s in sessions if s != engine_session]
    stray = [s for s in sessions if s.startswith(prefix) and (
        s[len(prefix):] not in agents or agents[s[len(prefix):]].removed
        or agents[s[len(prefix):]].status == "fired")]
    live = len([s for s in sessions if s.startswith(prefix)])
    checks.append(Check("tmux server", "ok", f"socket {sup.tmux.socket}: {live} agent session(s)"))
    if stray:
        checks.append(Check("orphan sessions", "warn", ", ".join(stray),
                            [f"tmux -L {sup.tmux.socket} kill-session -t ={s}" for s in stray]))
    referenced = {Path(a.worktree).resolve() for a in agents.values() if a.worktree}
    stray_dirs = [p for p in sorted(sup.config.worktrees_dir.iterdir())
                  if p.is_dir() and p.resolve() not in referenced] if sup.config.worktrees_dir.is_dir() else []
    if stray_dirs:
        checks.append(Check("orphan worktrees", "warn", ", ".join(str(p) for p in stray_dirs),
                            ["inspect them, commit what matters, then: git worktree remove PATH"]))
    vanished = [a.id for a in agents.values() if a.status in ACTIVE and a.tmux_session and a.tmux_session not in sessions]
    if vanished:
        checks.append(Check("lost sessions", "warn", ", ".join(vanished),
                            ["their agents will be marked failed; their worktrees keep the work (jarvis retry ID)"]))
    leaked = []
    for agent in agents.values():
        if agent.status in ENDED:
            procs = process_tree(None, agent.id)
            leaked.extend(f"{p.pid} ({agent.id})" for p in procs)
    if leaked:
        checks.append(Check("orphan processes", "warn", ", ".join(leaked), ["kill PID"]))
    if not (stray or stray_dirs or vanished or leaked):
        checks.append(Check("orphans", "ok", "no orphan sessions, worktrees or processes"))
    return checks


def _lease(sup: Any) -> Check | None:
    import time

    from .lease import read_lease, vacancy
    from .models import QUEUED

    info = read_lease(sup.registry)
    queued = len(sup.registry.agents(statuses=frozenset({QUEUED})))
    hint = ["jarvis engine   (or open the dashboard; spawn/retry start one on demand)"]
    if info is None:
        level = "warn" if queued else "ok"
        return Check("engine", level, f"no engine loop holds the lease; {queued} agent(s) queued",
                     hint if queued else [])
    now = time.time()
    free = vacancy(info, now)

    def when(ts: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + f" ({now - ts:.0f}s ago)"

    detail = (f"lease held by pid {info.pid} on {info.host} ({info.owner}) since {when(info.acquired_at)}, "
              f"last renewed {when(info.renewed_at)}, ttl {info.ttl:g}s: "
              + ("alive" if free is None else f"NOT alive ({free})"))
    if free is None:
        return Check("engine", "ok", detail)
    return Check("engine", "warn", detail + f"; {queued} agent(s) queued",
                 ["the next engine loop takes the lease over"] + (hint if queued else []))
