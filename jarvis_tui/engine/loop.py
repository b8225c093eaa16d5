"""The engine loop: one tick = one observation of the world and the decisions it calls for.

Each tick makes ONE ``list-panes -a`` call (plus one batched capture for waiting detection),
ONE system reading, and, every :data:`TREE_INTERVAL` seconds or when an agent appears, ONE
``/proc`` pass for every agent's process tree (between passes the last one stands), and then:
renew the lease -> reconcile statuses -> sample -> (lease holder only) publish the reading,
apply policies, dispatch queued agents.

Many loops may run (a dashboard, a headless ``jarvis engine``); exactly one holds the engine
lease (:mod:`.lease`) and acts. The others only observe, which is harmless: reconcile is a
compare-and-set.

Faces call :meth:`EngineLoop.tick` from a worker thread (the dashboard) or a plain loop
(``jarvis engine``); the returned :class:`TickResult` is everything a screen needs.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import budgets, checks, orchestrators, procfs, usage
from .lease import DEFAULT_TTL, Lease
from .models import ACTIVE, Agent, Orchestrator
from .overseer import Action, Overseer
from .resources import Smoother, SystemReading, TreeUsage
from .supervisor import Supervisor

if TYPE_CHECKING:
    from .conflicts import Scanner
    from .git.overlap import Overlap


TREE_INTERVAL = 3.0  # seconds between passes over the agents' process trees (CPU %, RSS)


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
    actions: list[Action] = field(default_factory=list)  # automatic decisions (leader only)
    overlaps: list[Overlap] | None = None  # agents editing the same files (when a scan ran)
    orchestrators: list[Orchestrator] = field(default_factory=list)  # clients connected by `jarvis mcp`
    spent_today: dict[str, float] | None = None  # USD spent today per profile (the budgets' reading)


class EngineLoop:
    def __init__(
        self,
        sup: Supervisor,
        *,
        owner: str | None = None,
        readings: Callable[[], SystemReading] | None = None,
        lease_ttl: float = DEFAULT_TTL,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sup = sup
        # Unique per loop, even for two loops in one process (the pid alone would be shared).
        self.owner = owner or f"{procfs.hostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self._readings = readings
        self.smoother = Smoother(sup.config.resources.window)
        self.lease = Lease(sup.registry, self.owner, ttl=lease_ttl, clock=sup.clock)
        self.overseer = Overseer(sup, rand=rand)
        self.scanner: Scanner | None = None  # made at the first scan (its git machinery with it)
        self._scanned_at = float("-inf")
        self._usage_at = float("-inf")
        self.usage_interval = usage.INTERVAL
        self.tree_interval = TREE_INTERVAL
        self._trees: dict[str, TreeUsage] = {}
        self._trees_at = float("-inf")

    def sample(self, agents: list[Agent]) -> tuple[SystemReading, dict[str, TreeUsage]]:
        raw = self._readings() if self._readings is not None else self.sup.sampler.system()
        roots = {a.id: a.pid for a in agents if a.is_active and a.pid}
        now = time.monotonic()
        # The trees are the tick's dearest reading (every agent process's stat and statm), and
        # a CPU % over a few seconds is steadier anyway: read them at a slower cadence than
        # statuses, and at once for an agent not read yet (a new start shows its usage).
        if now - self._trees_at >= self.tree_interval or not roots.keys() <= self._trees.keys():
            self._trees_at = now
            self._trees = self.sup.sampler.trees(roots)
        return raw, {agent_id: self._trees[agent_id] for agent_id in roots if agent_id in self._trees}

    def tick(self) -> TickResult:
        now = self.sup.clock()
        leader = self.lease.acquire()
        changed = self.sup.reconcile()
        active = self.sup.registry.agents(statuses=ACTIVE)
        raw, tree_usage = self.sample(active)
        reading = self.smoother.add(raw)
        started: list[Agent] = []
        actions: list[Action] = []
        if leader:
            # CLI processes admit new spawns against this smoothed reading (Supervisor.reading).
            self.sup.registry.set_meta(
                "resources", json.dumps({"cpu": reading.cpu, "ram": reading.ram, "at": reading.at})
            )
            if time.monotonic() - self._usage_at >= self.usage_interval:  # tokens and cost, then budgets
                self._usage_at = time.monotonic()
                usage.update(self.sup, self.sup.clock())
            actions = self.overseer.apply(reading, tree_usage, self.sup.clock())
            started = self.sup.dispatch(reading=reading)
            checks.on_done(self.sup, now)
        overlaps = None
        interval = self.sup.config.review.scan_interval
        if leader and interval > 0 and time.monotonic() - self._scanned_at >= interval:
            self._scanned_at = time.monotonic()
            if self.scanner is None:
                from .conflicts import Scanner

                self.scanner = Scanner()
            overlaps = self.scanner.scan(self.sup)
        agents = self.sup.agents()
        return TickResult(
            agents=agents,
            reading=reading,
            raw_reading=raw,
            usage=tree_usage,
            changed=changed,
            started=started,
            leader=leader,
            at=now,
            actions=actions,
            overlaps=overlaps,
            orchestrators=orchestrators.connected(self.sup.registry),
            spent_today=budgets.spent_today(self.sup.registry, now),
        )

    def close(self) -> None:
        """Release the lease if this loop holds it (call on clean exit: a standby takes over at once)."""
        if self.lease.held:
            self.lease.release()

    def run(self, interval: float = 1.0, *, stop: Callable[[], bool] = lambda: False) -> None:
        """Tick until ``stop()``; each tick schedules the next after it finishes (no pile-up)."""
        try:
            while not stop():
                started = time.monotonic()
                self.tick()
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            self.close()
