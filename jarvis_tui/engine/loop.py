"""The engine loop: one tick = one observation of the world and the decisions it calls for.

Each tick makes ONE ``list-panes -a`` call (plus one batched capture for waiting detection),
ONE psutil pass for the system reading and every agent's process tree, and then:
reconcile statuses -> apply policies -> dispatch queued agents.

Faces call :meth:`EngineLoop.tick` from a worker thread (the dashboard) or a plain loop
(``jarvis engine``); the returned :class:`TickResult` is everything a screen needs.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .models import Agent
from .resources import Smoother, SystemReading, TreeUsage
from .supervisor import Supervisor


@dataclass
class TickResult:
    agents: list[Agent]  # latest attempt of each task, not removed
    reading: SystemReading  # smoothed system CPU/RAM
    raw_reading: SystemReading  # this tick's instant reading
    usage: dict[str, TreeUsage]  # per active agent id: its whole process tree
    changed: list[Agent] = field(default_factory=list)  # status changes this tick
    started: list[Agent] = field(default_factory=list)  # agents dispatched this tick
    leader: bool = False  # did this process hold the engine lease (and so act)?
    at: float = 0.0


class EngineLoop:
    def __init__(
        self,
        sup: Supervisor,
        *,
        owner: str | None = None,
        readings: Callable[[], SystemReading] | None = None,
    ) -> None:
        self.sup = sup
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self._readings = readings
        self.smoother = Smoother(sup.config.resources.window)

    def sample(self, agents: list[Agent]) -> tuple[SystemReading, dict[str, TreeUsage]]:
        raw = self._readings() if self._readings is not None else self.sup.sampler.system()
        roots = {a.id: a.pid for a in agents if a.is_active and a.pid}
        usage = self.sup.sampler.trees(roots)
        return raw, usage

    def tick(self) -> TickResult:
        now = self.sup.clock()
        changed = self.sup.reconcile()
        active = [a for a in self.sup.registry.agents() if a.is_active]
        raw, usage = self.sample(active)
        reading = self.smoother.add(raw)
        started = self.sup.dispatch(reading=reading)
        agents = self.sup.agents()
        return TickResult(agents=agents, reading=reading, raw_reading=raw, usage=usage,
                          changed=changed, started=started, leader=True, at=now)

    def run(self, interval: float = 1.0, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Tick until ``stop()``; each tick schedules the next after it finishes (no pile-up)."""
        while not stop():
            started = time.monotonic()
            self.tick()
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
