"""``jarvis engine``: the engine loop without a dashboard, and starting it on demand.

The policies (queue, backoff, timeouts, guards) must keep working when no dashboard is open,
for an orchestrating agent that only uses the CLI. So when a CLI command leaves work that
needs a loop (an agent queued, or running under a time/resource/retry policy) and no live
process holds the engine lease, the CLI starts ``jarvis engine`` in a tmux session named
``jarvis-engine`` on the same private socket (its output in ``sessions/engine.log``).

The engine exits by itself after ``idle_exit`` seconds with nothing active or queued, and on
SIGTERM/SIGHUP/SIGINT (killing the tmux server ends it), releasing the lease on the way out.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from . import procfs
from .lease import holder_alive
from .models import ACTIVE, DONE, FAILED, QUEUED, Agent
from .paths import ENGINE_SESSION, PACKAGE_ROOT
from .registry import RegistryGone
from .tmux import TmuxError

if TYPE_CHECKING:  # the loop is imported by serve() only: `jarvis ls` asks needs_engine, nothing more
    from .config_watch import ConfigWatch
    from .loop import TickResult
    from .supervisor import Supervisor

IDLE_EXIT = 60.0
BACKOFF_MAX = 30.0  # seconds between tries while ticks keep failing
log = logging.getLogger("jarvis.engine")


def needs_engine(sup: Supervisor, agent: Agent) -> bool:
    """Does this agent need a loop to look after it once the command that made it exits?"""
    if agent.status == QUEUED:
        return True
    if agent.reported_status is not None and agent.status in (DONE, FAILED) and not agent.removed:
        return True  # it reported its outcome: what still runs after a grace is stopped (overseer)
    if agent.status not in ACTIVE:
        return False
    profile = sup.config.profiles.get(agent.agent)
    if sup.config.resources.emergency_ram > 0:
        return True
    if profile is None:
        return False
    max_attempts = agent.max_attempts or profile.max_attempts
    return bool(
        profile.max_runtime > 0
        or profile.stall_timeout > 0
        or profile.max_rss_mb > 0
        or profile.max_cpu_percent > 0
        or max_attempts > 1
    )


def handoff(sup: Supervisor) -> bool:
    """For a face that is closing (the dashboard, after ``EngineLoop.close()``): if any agent
    still needs a loop, start the headless engine so the policies keep running. Returns whether
    one was started."""
    if not any(needs_engine(sup, a) for a in sup.registry.agents()):
        return False
    return ensure_engine(sup)


def ensure_engine(sup: Supervisor) -> bool:
    """Start a headless engine unless a live loop holds the lease or one is starting.

    Returns whether one was started. The tmux session name is the mutex: of two CLI processes
    racing here, the second one's ``new-session`` fails and it leaves the first's engine be.
    """
    if holder_alive(sup.registry) is not None:
        return False
    pane = sup.tmux.list_panes().get(ENGINE_SESSION)
    if pane is not None and not pane.dead:
        return False  # started a moment ago, not leading yet
    if pane is not None:
        sup.tmux.kill_session(ENGINE_SESSION)
    argv = [sys.executable, "-m", "jarvis_tui", "engine", "--config", str(sup.config.path)]
    env = {
        "JARVIS_HOME": str(sup.config.state_dir),  # tags it like an agent: leak checks see it
        "JARVIS_CONFIG": str(sup.config.path),
        # The server's global environment may come from an agent's own `jarvis spawn`; an
        # inherited JARVIS_AGENT_ID would make firing that agent kill the engine too.
        "JARVIS_AGENT_ID": "",
        "PYTHONPATH": os.pathsep.join(filter(None, (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")))),
    }
    try:
        sup.tmux.start_session(
            ENGINE_SESSION,
            sup.config.state_dir,
            argv,
            sup.config.sessions_dir / "engine.log",
            env=env,
            remain_on_exit=False,
        )
    except TmuxError:
        if sup.tmux.has_session(ENGINE_SESSION):
            return False
        raise
    sup.registry.add_event("engine_started", session=ENGINE_SESSION, socket=sup.tmux.socket)
    return True


def reload_config(sup: Supervisor, watch: ConfigWatch, say: Callable[[str], None]) -> None:
    """config.toml changed under the engine: apply it (budgets, limits, profiles, policies), or
    keep the last good one and say why (a file that no longer parses, a moved repository)."""
    change = watch.apply(sup)
    if change is None:
        return
    config, error = change
    if config is not None:
        log.info("config re-read: %s", watch.path)
        say(f"config re-read: {watch.path}")
    else:
        log.warning("config change not applied (%s): %s", watch.path, error)
        say(f"config change not applied, the last good one stays in use: {error}")


def describe(result: TickResult) -> list[str]:
    """One line per thing worth logging in a tick."""
    lines = [f"{a.id} {a.status}: {a.status_reason or ''}".rstrip(": ") for a in result.changed]
    lines += [f"{a.id} started ({a.priority}, {a.agent})" for a in result.started]
    lines += [f"{act.agent_id} {act.kind}: {act.note}" for act in result.actions]
    return lines


def serve(
    sup: Supervisor,
    *,
    interval: float = 1.0,
    idle_exit: float = IDLE_EXIT,
    once: bool = False,
    out: TextIO = sys.stdout,
    stop: Callable[[], bool] | None = None,
) -> TickResult | None:
    """Run the engine loop until stopped, or idle for ``idle_exit`` seconds (0: never)."""
    stopping = {"why": ""}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["why"] = signal.Signals(signum).name

    if stop is None:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, on_signal)
        stop = lambda: bool(stopping["why"])  # noqa: E731

    from .config_watch import ConfigWatch
    from .loop import EngineLoop

    loop = EngineLoop(sup, owner=f"engine:{procfs.hostname()}:{os.getpid()}")
    watch = ConfigWatch(sup.config.path)

    def say(line: str) -> None:
        try:
            out.write(time.strftime("%H:%M:%S ") + line + "\n")
            out.flush()
        except (OSError, ValueError):  # the pane is gone (tmux server killed): keep going to exit
            pass

    say(f"jarvis engine pid {os.getpid()} on socket {sup.tmux.socket}; registry {sup.config.registry_path}")
    result: TickResult | None = None
    was_leader: bool | None = None
    idle_since: float | None = None
    failures = 0
    try:
        while not stop():
            began = time.monotonic()
            wait = interval
            try:
                reload_config(sup, watch, say)
                result = loop.tick()
                if failures:
                    say(f"tick works again after {failures} failure(s)")
                failures = 0
            except RegistryGone as exc:  # deleted or replaced: acting on it could orphan agents
                log.error("registry gone, engine exiting: %s", exc)
                say(f"exiting: {exc}")
                break
            except Exception as exc:
                failures += 1
                # Back off (storage faults, a lost registry): never spin writing to a broken disk.
                wait = min(BACKOFF_MAX, interval * 2 ** min(failures, 10))
                log.error(
                    "tick failed (%d in a row), next try in %.1fs: %s", failures, wait, exc, exc_info=failures == 1
                )
                say(f"tick failed ({failures} in a row; next try in {wait:.1f}s): {exc}")
                result = None
            if result is not None:
                if result.leader != was_leader:
                    say(
                        "holding the engine lease: acting"
                        if result.leader
                        else "another loop holds the engine lease: standing by"
                    )
                    was_leader = result.leader
                for line in describe(result):
                    say(line)
                busy = any(a.status in ACTIVE or a.status == QUEUED for a in result.agents)
                idle_since = None if busy else (idle_since or time.monotonic())
            if once:
                break
            if idle_exit > 0 and idle_since is not None and time.monotonic() - idle_since >= idle_exit:
                say(f"nothing active or queued for {idle_exit:g}s: exiting")
                break
            while not stop() and time.monotonic() - began < wait:
                time.sleep(min(0.1, wait))
    finally:
        loop.close()
        if stopping["why"]:
            say(f"stopped by {stopping['why']}")
    return result


__all__ = ["ENGINE_SESSION", "IDLE_EXIT", "describe", "ensure_engine", "handoff", "needs_engine", "serve"]
