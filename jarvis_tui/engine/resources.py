"""System and per-agent resource readings, and the process-tree killer.

Per-agent readings come from one cheap pass over ``/proc`` per sample (see
:class:`ResourceSampler`); the killer snapshots a tree with psutil BEFORE killing (once the
root dies its children are re-parented) and also finds tagged ``setsid`` daemons.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import procfs
from .config import ResourcesConfig

if TYPE_CHECKING:
    import psutil

SAFE, WARNING, DANGER = "safe", "warning", "danger"


@dataclass(frozen=True)
class SystemReading:
    cpu: float  # percent of all cores
    ram: float  # percent used
    at: float
    ram_used: int = 0
    ram_total: int = 0


@dataclass(frozen=True)
class TreeUsage:
    cpu: float  # percent of one core, summed over the tree (may exceed 100)
    rss: int  # bytes
    procs: int


def _psutil_system() -> SystemReading:
    import psutil  # no /proc here

    vm = psutil.virtual_memory()
    return SystemReading(
        cpu=psutil.cpu_percent(interval=None),
        ram=vm.percent,
        at=time.time(),
        ram_used=vm.total - vm.available,
        ram_total=vm.total,
    )


def zone_of(value: float, safe: float, danger: float) -> str:
    if value >= danger:
        return DANGER
    if value >= safe:
        return WARNING
    return SAFE


def worst(*zones: str) -> str:
    order = (SAFE, WARNING, DANGER)
    return max(zones, key=order.index)


def system_zone(reading: SystemReading, cfg: ResourcesConfig) -> str:
    return worst(zone_of(reading.cpu, cfg.cpu_safe, cfg.cpu_danger), zone_of(reading.ram, cfg.ram_safe, cfg.ram_danger))


class Smoother:
    """Averages readings over a time window so one spike does not block admission."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.readings: deque[SystemReading] = deque()

    def add(self, reading: SystemReading) -> SystemReading:
        self.readings.append(reading)
        while self.readings and reading.at - self.readings[0].at > self.window:
            self.readings.popleft()
        n = len(self.readings)
        return SystemReading(
            cpu=sum(r.cpu for r in self.readings) / n,
            ram=sum(r.ram for r in self.readings) / n,
            at=reading.at,
            ram_used=reading.ram_used,
            ram_total=reading.ram_total,
        )


class ResourceSampler:
    """Per-agent CPU and RSS, read cheaply; the machine's CPU and RAM from ``/proc`` too.

    Each call lists ``/proc`` once and reads ``stat`` only where it must: once for a process
    never seen before (its parent, its start time, and its ``JARVIS_AGENT_ID`` tag from its
    environment, each read once per process lifetime), and every time for the processes of
    the agents' trees (their CPU ticks). The machine's other processes cost one directory
    entry each, not a file read: ~60 reads a tick for 20 agents on a machine running 600
    processes, instead of 600. Memory (``statm``) is read for the agents' processes only.
    A tree is walked in the parent map; ``setsid``/``nohup`` helpers that left it are found by
    their tag. CPU % comes from tick deltas between calls, keyed by ``(pid, start time)`` so a
    reused pid never inherits another process's history.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cpu_seen: dict[tuple[int, int], tuple[float, float]] = {}
        self._known: dict[int, tuple[int, int]] = {}  # pid -> (parent pid when first seen, start time)
        self._tags: dict[tuple[int, int], str | None] = {}  # (pid, start) -> JARVIS_AGENT_ID or None
        self.environ_reads = 0  # environments read in the last call (only processes never seen before)
        self.stat_reads = 0  # stat files read in the last call (new processes and agents' ones)
        self._cpu_last = procfs.cpu_times()  # prime: the first reading measures from here

    def system(self) -> SystemReading:
        """CPU % of all cores since the previous reading (or since this sampler was made) and
        RAM in use, as psutil's ``cpu_percent``/``virtual_memory`` compute them, read from
        ``/proc/stat`` and ``/proc/meminfo`` (psutil where there is no ``/proc``): importing
        psutil alone was ~8 ms of every CLI spawn, which samples once."""
        now = procfs.cpu_times()
        memory = procfs.memory()
        if now is None or memory is None:
            return _psutil_system()
        last, self._cpu_last = self._cpu_last, now
        busy, total = (now[0] - last[0], now[1] - last[1]) if last is not None else (0.0, 0.0)
        used, size = memory
        return SystemReading(
            cpu=min(100.0, max(0.0, 100.0 * busy / total)) if total > 0 else 0.0,
            ram=round(100.0 * used / size, 1) if size else 0.0,
            at=time.time(),
            ram_used=used,
            ram_total=size,
        )

    @staticmethod
    def _stat(pid: int) -> tuple[int, float, int] | None:
        """(parent pid, CPU seconds so far, start time in ticks) of one process, or None if gone."""
        fields = procfs.stat_fields(pid)
        if fields is None:
            return None
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / procfs.TICKS, int(fields[19])

    def _stat_pass(self) -> dict[int, tuple[int, float, int]]:
        """The pass: list ``/proc``; read ``stat`` of the processes never seen. Returns what was
        read (pid -> parent, CPU seconds, start); ``self._known`` then holds every live pid."""
        read: dict[int, tuple[int, float, int]] = {}
        listed: set[int] = set()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            listed.add(pid)
            if pid not in self._known and (stat := self._stat(pid)) is not None:
                read[pid] = stat
                self._known[pid] = (stat[0], stat[2])
        self._known = {pid: v for pid, v in self._known.items() if pid in listed}  # bounded by what runs
        self.stat_reads = len(read)
        return read

    def _tag(self, pid: int, start: int) -> str | None:
        key = (pid, start)
        if key not in self._tags:
            self.environ_reads += 1
            try:
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    env = fh.read()
            except OSError:
                env = b""  # another user's process, or gone: not one of ours
            tag = None
            for item in env.split(b"\0"):
                if item.startswith(b"JARVIS_AGENT_ID="):
                    tag = item[len(b"JARVIS_AGENT_ID=") :].decode(errors="replace") or None
                    break
            self._tags[key] = tag
        return self._tags[key]

    def _rss(self, pid: int) -> int | None:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                return int(fh.read().split()[1]) * procfs.PAGE
        except (OSError, IndexError, ValueError):
            return None

    def trees(self, roots: dict[str, int]) -> dict[str, TreeUsage]:
        """Usage of each agent's process tree, ``roots`` mapping agent id to its pane pid."""
        if not roots:
            return {}
        now = self.clock()
        self.environ_reads = 0
        fresh = self._stat_pass()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in self._known.items():
            children.setdefault(ppid, []).append(pid)
        members: dict[str, set[int]] = {}
        for agent_id, root in roots.items():
            found: set[int] = set()
            stack = [root] if root in self._known else []
            while stack:
                pid = stack.pop()
                if pid not in found:
                    found.add(pid)
                    stack.extend(children.get(pid, ()))
            members[agent_id] = found
        in_trees = set().union(*members.values())
        for pid, (_, start) in self._known.items():  # helpers that left their tree, by their tag
            if pid not in in_trees:
                tag = self._tag(pid, start)
                if tag in members:
                    members[tag].add(pid)
        alive = {(pid, start) for pid, (_, start) in self._known.items()}
        self._tags = {k: v for k, v in self._tags.items() if k in alive}  # bounded by what runs
        seen: dict[tuple[int, int], tuple[float, float]] = {}
        result: dict[str, TreeUsage] = {}
        for agent_id, pids in members.items():
            cpu = 0.0
            rss = 0
            count = 0
            for pid in pids:
                stat = fresh.get(pid) or self._stat(pid)
                if stat is None:
                    continue  # ended since the listing
                if pid not in fresh:
                    self.stat_reads += 1
                _, total, start = stat
                if start != self._known[pid][1]:  # the pid was reused within one call: a new process
                    self._known[pid] = (stat[0], start)
                    continue  # placed in its tree (or not) at the next call
                key = (pid, start)
                previous = self._cpu_seen.get(key)
                if previous is not None and now > previous[1]:
                    cpu += max(0.0, (total - previous[0]) / (now - previous[1]) * 100.0)
                seen[key] = (total, now)
                memory = self._rss(pid)
                if memory is None:
                    continue
                rss += memory
                count += 1
            result[agent_id] = TreeUsage(cpu=cpu, rss=rss, procs=count)
        self._cpu_seen = seen
        return result


# --------------------------------------------------------------------------- killing


def process_tree(root_pid: int | None, agent_id: str | None = None) -> list[psutil.Process]:
    """The root, all its descendants, and any process tagged with ``JARVIS_AGENT_ID=agent_id``.

    The tag catches ``setsid``/``nohup``/double-forked daemons that already left the tree.
    Snapshot BEFORE killing: once the root dies its children are re-parented.
    """
    import psutil

    found: dict[int, psutil.Process] = {}
    if root_pid:
        try:
            root = psutil.Process(root_pid)
            found[root.pid] = root
            for child in root.children(recursive=True):
                found[child.pid] = child
        except psutil.Error:
            pass  # the root is already gone: only its tagged descendants (below) can remain
    if agent_id:
        me = os.getpid()
        for proc in psutil.process_iter(["pid"]):
            if proc.pid in found or proc.pid == me:
                continue
            try:
                if proc.environ().get("JARVIS_AGENT_ID") == agent_id:
                    found[proc.pid] = proc
                    for child in proc.children(recursive=True):
                        found.setdefault(child.pid, child)
            except psutil.Error:
                continue  # gone meanwhile, or another user's process whose environment we cannot read
    return list(found.values())


def tagged(name: str, value: str) -> list[psutil.Process]:
    """Every process whose environment has ``name=value`` (e.g. all of one state dir's agents)."""
    import psutil

    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(name) == value:
                found.append(proc)
        except psutil.Error:
            continue  # gone meanwhile, or another user's process whose environment we cannot read
    return found


def terminate(procs: Iterable[psutil.Process], grace: float) -> list[int]:
    """SIGTERM, wait up to ``grace`` seconds, SIGKILL the rest. Returns pids that were killed hard."""
    import psutil

    procs = list(procs)
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass  # already gone: exactly what we wanted
    alive = _wait_gone(procs, grace)
    hard: list[int] = []
    for proc in alive:
        try:
            proc.kill()
            hard.append(proc.pid)
        except psutil.Error:
            pass  # it exited between the wait and the kill
    if alive:
        _wait_gone(alive, 5)
    return hard


def _gone(proc: psutil.Process) -> bool:
    """Exited, or a zombie: dead, only not yet reaped by its parent (tmux 3.3a sometimes
    misses SIGCHLD for a while, NOTES.md), so waiting on it would only burn the grace."""
    import psutil

    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to ``timeout`` seconds for processes to go; returns those still alive."""
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if not _gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _gone(p)]
    return alive
