"""``jarvis doctor``: is this machine and this state healthy?

Without flags it changes nothing: tool versions, the config (and its base), profiles whose
program is missing, the registry's integrity, orphans, agents stuck half-way through an
operation whose process died, and the engine lease. ``--fix`` and ``--adopt`` repair
(:mod:`.repair`) and say what they did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import git, presets
from .config import ConfigError, load_config
from .tmux import tmux_version

if TYPE_CHECKING:
    from .supervisor import Supervisor

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


def run_checks(config_path: str | None, *, fix: bool = False, adopt: bool = False) -> list[Check]:
    from . import repair
    from .registry import StorageError
    from .supervisor import Supervisor  # late: doctor must report a broken config first

    checks = [_version_check("tmux", tmux_version(), MIN_TMUX), _version_check("git", git.version(), MIN_GIT)]
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        checks.append(Check("config", "fail", exc.render()))
        return checks
    checks.append(
        Check("config", "ok", f"{config.path} ({len(config.profiles)} profiles, repo {config.supervisor.repo})")
    )
    base = config.base_problem()
    if base:
        checks.append(
            Check(
                "base",
                "warn",
                base,
                ["spawn, review and merge refuse until it exists again; running agents are unaffected"],
            )
        )
    for name, why in presets.unavailable(config).items():
        checks.append(
            Check(
                f"profile {name}",
                "warn",
                f"{why}; spawning it is refused until it is",
                [f"install it, or remove [agents.{name}] (jarvis profiles lists the presets)"],
            )
        )
    try:
        if adopt:
            sup, moved = repair.rebuild(config)
            if moved:
                checks.append(Check("registry rebuilt", "warn", moved))
        else:
            sup = Supervisor(config)
        integrity = sup.registry.conn.execute("PRAGMA integrity_check").fetchone()[0]
        checks.append(
            Check(
                "registry",
                "ok" if integrity == "ok" else "fail",
                f"{config.registry_path} (schema {sup.registry.schema_version}, integrity {integrity})",
            )
        )
    except StorageError as exc:
        checks.append(Check("registry", "fail", str(exc), ["jarvis doctor --adopt"]))
        return checks
    if adopt:
        lines = repair.adopt(sup)
        checks.append(Check("adopt", "ok", f"{len(lines)} agent(s) re-imported from their records", lines))
    orphans = repair.find_orphans(sup)
    checks.extend(_describe(sup, orphans))
    if fix and orphans:
        done = repair.fix(sup, orphans)
        checks.append(Check("fix", "ok", f"{len(done)} repair(s) made", done))
    lease = _lease(sup)
    if lease is not None:
        checks.append(lease)
    sup.registry.close()
    return checks


def _describe(sup: Supervisor, orphans: Any) -> list[Check]:
    socket = sup.tmux.socket
    checks = [Check("tmux server", "ok", f"socket {socket}: {len(sup.tmux.sessions())} session(s)")]
    if orphans.sessions:
        checks.append(Check("orphan sessions", "warn", ", ".join(orphans.sessions), ["jarvis doctor --fix"]))
    if orphans.worktrees:
        checks.append(
            Check(
                "orphan worktrees",
                "warn",
                ", ".join(str(p) for p in orphans.worktrees),
                ["jarvis doctor --fix  (preserves their files to refs/jarvis/orphan/<name>, then removes them)"],
            )
        )
    if orphans.processes:
        checks.append(
            Check(
                "orphan processes",
                "warn",
                ", ".join(f"{pid} ({a})" for pid, a in orphans.processes),
                ["jarvis doctor --fix"],
            )
        )
    if orphans.lost:
        checks.append(
            Check(
                "lost sessions",
                "warn",
                ", ".join(orphans.lost),
                ["their agents are marked failed at the next reconcile; their worktrees keep the work"],
            )
        )
    if orphans.stuck:
        checks.append(
            Check(
                "interrupted operations",
                "warn",
                ", ".join(orphans.stuck),
                [
                    "a process died half-way through starting, firing or removing them; the next "
                    "reconcile (any jarvis command, the engine) finishes or undoes it"
                ],
            )
        )
    if not orphans:
        checks.append(Check("orphans", "ok", "no orphan sessions, worktrees or processes; nothing stuck"))
    return checks


def _lease(sup: Supervisor) -> Check | None:
    from .lease import read_lease, vacancy
    from .models import QUEUED

    info = read_lease(sup.registry)
    queued = len(sup.registry.agents(statuses=frozenset({QUEUED})))
    hint = ["jarvis engine   (or open the dashboard; any jarvis command starts one when work needs it)"]
    if info is None:
        return Check(
            "engine",
            "warn" if queued else "ok",
            f"no engine loop holds the lease; {queued} agent(s) queued",
            hint if queued else [],
        )
    now = time.time()
    free = vacancy(info, now)

    def when(ts: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + f" ({now - ts:.0f}s ago)"

    detail = (
        f"lease held by pid {info.pid} on {info.host} ({info.owner}) since {when(info.acquired_at)}, "
        f"last renewed {when(info.renewed_at)}, ttl {info.ttl:g}s: "
        + ("alive" if free is None else f"NOT alive ({free})")
    )
    if free is None:
        return Check("engine", "ok", detail)
    return Check(
        "engine",
        "warn",
        detail + f"; {queued} agent(s) queued",
        ["the next engine loop takes the lease over"] + (hint if queued else []),
    )


__all__ = ["MIN_GIT", "MIN_TMUX", "Check", "run_checks"]
