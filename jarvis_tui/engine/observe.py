"""Observing agents: what tmux, the exit records and the logs say, for every agent at once.

ONE ``list-panes -a`` call for all panes, ONE batched ``capture-pane`` for the screens that
waiting detection needs, the launchers' ``exit.json`` records (tmux 3.3 sometimes loses a
pane's exit status) and the logs' modification times. No decisions here: :mod:`.reconcile`
turns observations into transitions.

A screen is captured again only when its agent printed something since the last capture:
every byte a pane shows passes through its log (``pipe-pane``), and tmux writes the bytes
to the log in the same step as it draws them, so a log that has not grown means a screen
that has not changed. The log is measured BEFORE the capture, so a capture is never older
than the size it is filed under. A fleet of silent agents costs no capture at all.

A working agent that is still printing (its log grew since the last tick too) is captured
again at most every :data:`BUSY_RECAPTURE` seconds, its last screen standing in meanwhile:
a question stops the output, and the first quiet tick captures it at once; only a prompt
that keeps animating waits for the next recapture. A waiting agent is always captured when
it prints (an answered question must show at once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .models import WORKING, Agent
from .paths import StatePaths
from .tmux import Pane

if TYPE_CHECKING:
    from .supervisor import Supervisor


@dataclass(frozen=True)
class Observation:
    """What one reconcile pass learnt about an active agent (also feeds the policies)."""

    pane: Pane | None
    screen: str | None
    exit_code: int | None
    exit_note: str
    ended_at: float | None
    last_output_at: float | None


def read_exit(paths: StatePaths, agent_id: str) -> tuple[int | None, str, float | None]:
    """The launcher's record of how the agent ended: (exit code, note, when), or Nones."""
    path = paths.exit(agent_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ended = data.get("ended_at") or path.stat().st_mtime  # the shell waiter writes no clock
    except (FileNotFoundError, ValueError):
        return None, "", None
    return data.get("exit_code"), data.get("note", ""), ended


LogStamp = tuple[int, int]  # (size, mtime in ns) of an agent's log
BUSY_RECAPTURE = 5.0  # seconds between captures of a working agent that keeps printing


def _stamp(path: Path) -> tuple[LogStamp | None, float | None]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None, None
    return (st.st_size, st.st_mtime_ns), st.st_mtime


def observe(sup: Supervisor, agents: list[Agent]) -> dict[str, Observation]:
    now = sup.clock()
    panes = sup.tmux.list_panes() if agents else {}
    logs = {a.id: _stamp(sup.paths.log(a.id)) for a in agents}  # before any capture (see above)
    screens: dict[str, str] = {}  # agent id -> screen
    wanted: dict[str, str] = {}  # pane id -> agent id: screens to capture now
    for a in agents:
        pane = panes.get(a.tmux_session or "")
        profile = sup.config.profiles.get(a.agent)
        if pane is None or pane.dead or profile is None or not (profile.waiting_patterns or profile.busy_patterns):
            continue
        stamp = logs[a.id][0]
        known = sup.screens.get(a.id)
        previous, sup.log_stamps[a.id] = sup.log_stamps.get(a.id), stamp
        if stamp is None or known is None or known[1] != pane.pane_id:
            wanted[pane.pane_id] = a.id
        elif known[0] == stamp:
            screens[a.id] = known[2]  # nothing printed since: the same screen
        elif a.status == WORKING and previous not in (None, stamp) and now - known[3] < BUSY_RECAPTURE:
            screens[a.id] = known[2]  # still printing: its screen of a moment ago stands in
        else:
            wanted[pane.pane_id] = a.id
    captured = sup.tmux.capture_many(list(wanted)) if wanted else {}
    for pane_id, screen in captured.items():
        agent_id = wanted[pane_id]
        screens[agent_id] = screen
        stamp = logs[agent_id][0]
        if stamp is not None:
            sup.screens[agent_id] = (stamp, pane_id, screen, now)
    for agent_id in [k for k in sup.screens if k not in screens]:
        del sup.screens[agent_id]  # ended, or no longer watched: forget its screen
    for agent_id in [k for k in sup.log_stamps if k not in logs]:
        del sup.log_stamps[agent_id]
    observations: dict[str, Observation] = {}
    for agent in agents:
        pane = panes.get(agent.tmux_session or "")
        exit_code, note, ended_at = read_exit(sup.paths, agent.id)
        mtime = logs[agent.id][1]
        observations[agent.id] = Observation(
            pane=pane,
            screen=screens.get(agent.id) if pane else None,
            exit_code=exit_code,
            exit_note=note,
            ended_at=ended_at,
            last_output_at=mtime if (mtime and agent.started_at and mtime > agent.started_at) else None,
        )
    return observations


__all__ = ["LogStamp", "Observation", "observe", "read_exit"]
