"""Observing agents: what tmux, the exit records and the logs say, for every agent at once.

ONE ``list-panes -a`` call for all panes, ONE batched ``capture-pane`` for the screens that
waiting detection needs, the launchers' ``exit.json`` records (tmux 3.3 sometimes loses a
pane's exit status) and the logs' modification times. No decisions here: :mod:`.reconcile`
turns observations into transitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Agent
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


def observe(sup: Supervisor, agents: list[Agent]) -> dict[str, Observation]:
    panes = sup.tmux.list_panes() if agents else {}
    wants_screen = [
        panes[a.tmux_session].pane_id
        for a in agents
        if a.tmux_session in panes
        and not panes[a.tmux_session].dead
        and (profile := sup.config.profiles.get(a.agent)) is not None
        and (profile.waiting_patterns or profile.busy_patterns)
    ]
    screens = sup.tmux.capture_many(wants_screen) if wants_screen else {}
    observations: dict[str, Observation] = {}
    for agent in agents:
        pane = panes.get(agent.tmux_session or "")
        exit_code, note, ended_at = read_exit(sup.paths, agent.id)
        try:
            mtime: float | None = sup.paths.log(agent.id).stat().st_mtime
        except FileNotFoundError:
            mtime = None
        observations[agent.id] = Observation(
            pane=pane,
            screen=screens.get(pane.pane_id) if pane else None,
            exit_code=exit_code,
            exit_note=note,
            ended_at=ended_at,
            last_output_at=mtime if (mtime and agent.started_at and mtime > agent.started_at) else None,
        )
    return observations


__all__ = ["Observation", "observe", "read_exit"]
