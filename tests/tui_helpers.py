"""Helpers for the dashboard tests: an app factory, polling waits, deterministic snapshot data."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from jarvis_tui.engine.config import load_config
from jarvis_tui.engine.git.facts import GitFacts
from jarvis_tui.engine.loop import TickResult
from jarvis_tui.engine.resources import SystemReading, TreeUsage
from jarvis_tui.engine.supervisor import Supervisor
from jarvis_tui.tui.app import JarvisApp

# --------------------------------------------------------------------------- live apps


def make_app(sup: Supervisor, **kwargs: Any) -> JarvisApp:
    """The dashboard as the tests drive it: a fast poll, git facts off unless asked for."""
    kwargs.setdefault("interval", 0.25)
    kwargs.setdefault("git_interval", None)
    return JarvisApp(sup, **kwargs)


async def wait_until(
    pilot: Pilot, predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition"
) -> Any:
    """Let the app run until ``predicate()`` is truthy (polling, never one long sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            app = pilot.app
            rows = {a.id: a.status for a in getattr(app, "agents", {}).values()}
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; table: {rows}; screen: {type(app.screen).__name__}"
            )
        await pilot.pause(0.05)


def status_of(app: JarvisApp, agent_id: str) -> str | None:
    agent = app.agents.get(agent_id)
    return agent.status if agent is not None else None


def shown(app: JarvisApp) -> list[str]:
    """Agent ids in the table, in screen order."""
    return app.table.visible_ids


def rich_text(renderable: Any, width: int = 160) -> str:
    """What a Rich renderable reads as, without styles."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def screen_lines(app: JarvisApp) -> list[str]:
    """The screen as the terminal gets it, one string per row (what overlaps what included;
    a widget's own render can hold lines the screen clips)."""
    update = app.screen._compositor.render_full_update()
    return ["".join(segment.text for segment in strip) for strip in update.strips]


def cell_text(app: JarvisApp, agent_id: str, column: str) -> str:
    """A cell's text; "" while that row or column is not on screen (e.g. the marker column
    appears only once an agent has a mark)."""
    from textual.widgets.data_table import CellDoesNotExist

    try:
        return app.table.get_cell(agent_id, column).plain
    except CellDoesNotExist:
        return ""


# --------------------------------------------------------------------------- snapshot data

NOW = 1_763_000_000.0  # a fixed clock: every duration on screen is computed from it
READING = SystemReading(cpu=47.0, ram=72.5, at=NOW, ram_used=6 * 2**30, ram_total=8 * 2**30)

SNAPSHOT_CONFIG = """\
[supervisor]
repo = "repo"
state_dir = "state"
tmux_socket = "jarvis-snapshot"
max_agents = 3

[resources]
cpu_safe = 60
cpu_danger = 80
ram_safe = 70
ram_danger = 85

[agents.demo]
command = ["python", "-m", "jarvis_tui.demo_agent", "{prompt}"]
waiting_patterns = ["\\\\[y/N\\\\]"]

[agents.claude]
command = ["claude", "{prompt}"]
"""

# The selected agent's raw pty stream: colours, a \\r spinner, an OSC title and cursor junk.
SNAPSHOT_LOG = (
    b"\x1b]0;demo-agent\x07\x1b[1mdemo-agent a1b2c3: Write the release notes for 0.2\x1b[0m\r\n"
    b"\x1b[36m|\x1b[0m thinking about step 1\r\x1b[36m/\x1b[0m thinking about step 1\r\x1b[K"
    b"\x1b[32mstep 1/8: edited notes/progress.md\x1b[0m\r\n"
    b"\x1b[32mstep 2/8: edited notes/progress.md\x1b[0m\r\n"
    b"\x1b[33mwarning: CHANGELOG.md has no entry for 0.1.9\x1b[0m\r\n"
    b"\x1b[32mstep 3/8: edited notes/progress.md\x1b[0m\r\n"
    b"\x1b[36m-\x1b[0m thinking about step 4"
)

SNAPSHOT_LOGS = {
    "a1b2c3": SNAPSHOT_LOG,
    "b2c3d4": (
        b"\x1b[1mdemo-agent b2c3d4: Refactor the config loader\x1b[0m\r\n"
        b"\x1b[32mstep 1/3: edited config.py\x1b[0m\r\n\x1b[32mstep 2/3: edited config.py\x1b[0m\r\n"
        b"\x1b[32mstep 3/3: edited tests/test_config.py\x1b[0m\r\n"
        b"\x1b[33mApply the changes? [y/N] \x1b[0m"
    ),
    "c3d4e5": (
        b"\x1b[1mdemo-agent c3d4e5: Fix the flaky login test\x1b[0m\r\n"
        b"\x1b[31mFAILED tests/test_login.py::test_login - AssertionError\x1b[0m\r\n"
        b"\x1b[31mfinished with exit code 2\x1b[0m\r\n\r\n[jarvis] agent exited with code 2\r\n"
    ),
    "e5f6a7": (
        b"\x1b[1mdemo-agent e5f6a7: Add type hints to utils\x1b[0m\r\n\x1b[32mfinished with exit code 0\x1b[0m\r\n"
    ),
}


@dataclass
class Fixed:
    """Agents written straight into a registry, with fixed ids and timestamps."""

    id: str
    title: str
    status: str
    created: float
    started: float | None = None
    ended: float | None = None
    last_output: float | None = None
    exit_code: int | None = None
    reason: str | None = None
    queue_reason: str | None = None
    profile: str = "demo"
    priority: str = "medium"
    attempt: int = 1
    usage: TreeUsage | None = None
    facts: GitFacts | None = None
    fire: tuple[str, str] | None = None

    @property
    def branch(self) -> str | None:
        if self.started is None:
            return None
        slug = "-".join(self.title.lower().split())[:32].rstrip("-")
        return f"jarvis/{slug}-{self.id}"


SNAPSHOT_AGENTS = (
    Fixed(
        "a1b2c3",
        "Write the release notes",
        "working",
        NOW - 800,
        NOW - 754,
        last_output=NOW - 3,
        usage=TreeUsage(cpu=12.4, rss=48 * 2**20, procs=3),
        facts=GitFacts(3, False),
    ),
    Fixed(
        "b2c3d4",
        "Refactor the config loader",
        "waiting",
        NOW - 400,
        NOW - 300,
        last_output=NOW - 95,
        reason="asks: Apply the changes? [y/N]",
        priority="high",
        usage=TreeUsage(cpu=0.0, rss=31 * 2**20, procs=2),
        facts=GitFacts(2, True),
    ),
    Fixed(
        "c3d4e5",
        "Fix the flaky login test",
        "failed",
        NOW - 1500,
        NOW - 1300,
        ended=NOW - 1100,
        last_output=NOW - 1100,
        exit_code=2,
        reason="exited with code 2",
        facts=GitFacts(1, False),
    ),
    Fixed(
        "d4e5f6",
        "Rewrite the build system in Bazel",
        "fired",
        NOW - 2000,
        NOW - 1990,
        ended=NOW - 900,
        last_output=NOW - 905,
        exit_code=143,
        reason="fired: derailed (rewrote the build)",
        profile="claude",
        attempt=2,
        facts=GitFacts(7, False),
        fire=("derailed", "rewrote the build"),
    ),
    Fixed(
        "e5f6a7",
        "Add type hints to utils",
        "done",
        NOW - 3600,
        NOW - 3500,
        ended=NOW - 3000,
        last_output=NOW - 3000,
        exit_code=0,
        reason="exited 0",
        facts=GitFacts(4, False),
    ),
    Fixed(
        "f6a7b8", "Upgrade the dependencies", "queued", NOW - 60, queue_reason="max_agents 3 reached", priority="low"
    ),
)


class FixedLoop:
    """A stand-in for EngineLoop: the registry as written, fixed readings, no tmux, no psutil."""

    def __init__(self, sup: Supervisor, usage: dict[str, TreeUsage]) -> None:
        self.sup = sup
        self.usage = usage

    def tick(self) -> TickResult:
        return TickResult(
            agents=self.sup.agents(), reading=READING, raw_reading=READING, usage=self.usage, leader=True, at=NOW
        )


def write_fixed_state(root: Path) -> Supervisor:
    """A config and registry under ``root`` holding SNAPSHOT_AGENTS; no git, no tmux needed."""
    (root / "repo").mkdir(parents=True, exist_ok=True)
    config_path = root / "config.toml"
    config_path.write_text(SNAPSHOT_CONFIG)
    sup = Supervisor(load_config(config_path, check_repo=False), clock=lambda: NOW, readings=lambda: READING)
    reg = sup.registry
    with reg.transaction() as conn:
        for f in SNAPSHOT_AGENTS:
            task_id = f.id if f.attempt == 1 else "0a0b0c"
            reg.create_task(
                conn,
                task_id=task_id,
                title=f.title,
                prompt=f"{f.title}.\n\nKeep the diff small.",
                priority=f.priority,
                profile=f.profile,
                now=f.created,
            )
            fields: dict[str, Any] = {
                "started_at": f.started,
                "ended_at": f.ended,
                "last_output_at": f.last_output,
                "exit_code": f.exit_code,
                "status_reason": f.reason,
                "queue_reason": f.queue_reason,
            }
            if f.started is not None:
                fields.update(
                    branch=f.branch,
                    base_commit="0123456789abcdef0123456789abcdef01234567",
                    tmux_session=f"jarvis-{f.id}",
                    pid=1,
                )
            if f.status in ("working", "waiting"):
                fields["pane_id"] = f"%{len(f.id)}"
            if f.attempt > 1:
                reg.create_attempt(
                    conn,
                    attempt_id="0a0b0c",
                    task_id=task_id,
                    attempt=1,
                    profile=f.profile,
                    status="failed",
                    now=f.created - 100,
                    ended_at=f.created - 50,
                    exit_code=1,
                    status_reason="exited with code 1",
                )
            reg.create_attempt(
                conn,
                attempt_id=f.id,
                task_id=task_id,
                attempt=f.attempt,
                profile=f.profile,
                status=f.status,
                now=f.created,
                **{k: v for k, v in fields.items() if v is not None},
            )
            if f.fire:
                reg.add_fire(conn, f.id, f.fire[0], f.fire[1], f"refs/jarvis/fired/{f.id}", now=f.ended)
    for agent_id, data in SNAPSHOT_LOGS.items():
        log = sup.log_path(agent_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_bytes(data)
    return sup


def snapshot_app(root: Path) -> JarvisApp:
    sup = write_fixed_state(root)
    usage = {f.id: f.usage for f in SNAPSHOT_AGENTS if f.usage is not None}
    app = JarvisApp(sup, loop=FixedLoop(sup, usage), interval=3600, git_interval=None)  # type: ignore[arg-type]
    app.git_facts.update({f.id: f.facts for f in SNAPSHOT_AGENTS if f.facts is not None})
    return app


async def settle(pilot: Pilot, select: str = "a1b2c3") -> None:
    """Wait for the first tick, put the cursor on ``select`` and wait for its log's first read."""
    app = pilot.app
    assert isinstance(app, JarvisApp)
    await wait_until(pilot, lambda: app.ticks >= 1, timeout=10, what="first tick")
    app.table.select(select)
    await wait_until(
        pilot,
        lambda: app.log_pane.agent_id == select and app.log_pane.lines_written > 0,
        timeout=10,
        what="the log's first read",
    )
    await pilot.pause()
    await pilot.pause()
