"""What a supervisor costs, read from /proc: CPU of whole process trees over a window, and PSS.

A stack is a set of root processes (a tmux server, a dashboard, a pm2 daemon...) and all their
descendants, minus the agents themselves (the talkers and anything they start): the agents'
own work is the same under every supervisor, so only what surrounds it is counted.

CPU of a window = for every process of the trees, the growth of utime+stime plus cutime+cstime
(the time of children it reaped: the short-lived git and tmux calls a dashboard makes are
counted through their parent, even though no snapshot ever sees them). Processes are keyed by
(pid, start time), so a reused pid is never mistaken for the old process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    start: int  # clock ticks after boot: with pid, the identity of a process
    cpu: float  # utime + stime, seconds
    reaped: float  # cutime + cstime: reaped children's CPU, seconds
    cmd: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.start)


def read_proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return None
    close = stat.rfind(b")")
    fields = stat[close + 2 :].split()
    cmd = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    if not cmd:
        cmd = "[" + stat[stat.find(b"(") + 1 : close].decode(errors="replace") + "]"
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        start=int(fields[19]),
        cpu=(int(fields[11]) + int(fields[12])) / CLK_TCK,
        reaped=(int(fields[13]) + int(fields[14])) / CLK_TCK,
        cmd=cmd,
    )


def snapshot() -> dict[int, Proc]:
    procs = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (proc := read_proc(int(entry.name))) is not None:
            procs[proc.pid] = proc
    return procs


def children_map(snap: dict[int, Proc]) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for proc in snap.values():
        kids.setdefault(proc.ppid, []).append(proc.pid)
    return kids


def subtree(kids: dict[int, list[int]], root: int, stop: frozenset[int] = frozenset()) -> list[int]:
    """``root`` and its descendants, not descending into ``stop`` (other roots: the dashboard
    runs inside the terminal's tmux server, yet is counted as itself)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(k for k in kids.get(pid, ()) if k not in stop)
    return found


# Given (root label, the root's direct child, whether that child's subtree holds an agent),
# name the group its subtree is counted under. Default: "<root label> children".
Splitter = Callable[[str, Proc, bool], str]


@dataclass
class Stack:
    """The processes one supervisor setup consists of, grouped for the breakdown."""

    roots: dict[int, str]  # pid -> label, e.g. {tmux server: "tmux", dashboard: "dashboard"}
    is_agent: Callable[[Proc], bool]  # an agent's own process (excluded, with its descendants)
    split: Splitter | None = None
    extra_roots: dict[int, str] = field(default_factory=dict)  # measured, but not in the total

    def groups(self, snap: dict[int, Proc]) -> dict[tuple[int, int], str]:
        """(pid, start) -> group, for every counted process alive in ``snap``."""
        kids = children_map(snap)
        out: dict[tuple[int, int], str] = {}
        roots = {**self.roots, **self.extra_roots}
        stop = frozenset(roots)
        for root, label in roots.items():
            if root not in snap:
                continue
            out[snap[root].key] = label
            for child in kids.get(root, ()):
                if child in stop:
                    continue
                tree = [snap[p] for p in subtree(kids, child, stop)]
                has_agent = any(self.is_agent(p) for p in tree)
                group = (
                    self.split(label, snap[child], has_agent)
                    if self.split and root not in self.extra_roots
                    else f"{label} children"
                )
                for proc in self._without_agents(tree, kids, snap):
                    out[proc.key] = group
        return out

    def _without_agents(self, tree: list[Proc], kids: dict[int, list[int]], snap: dict[int, Proc]) -> Iterable[Proc]:
        skip: set[int] = set()
        for proc in tree:
            if self.is_agent(proc):
                skip.update(subtree(kids, proc.pid))
        return (p for p in tree if p.pid not in skip)

    def is_extra(self, group: str) -> bool:
        """A group outside the total: an extra root or its children."""
        return any(group in (label, f"{label} children") for label in self.extra_roots.values())


@dataclass
class Usage:
    """CPU over a window as % of one core: the total and its parts (by group)."""

    seconds: float
    total: float
    parts: dict[str, float]
    extra: dict[str, float]  # groups measured but outside the total (e.g. the terminal)

    def to_json(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 2),
            "total": round(self.total, 2),
            "parts": {k: round(v, 2) for k, v in sorted(self.parts.items())},
            "extra": {k: round(v, 2) for k, v in sorted(self.extra.items())},
        }


def cpu_usage(stack: Stack, seconds: float, *, sleep: Callable[[float], None] = time.sleep) -> Usage:
    """CPU spent by the stack's processes during the next ``seconds``."""
    snap0 = snapshot()
    groups0 = stack.groups(snap0)
    t0 = time.monotonic()
    sleep(seconds)
    snap1 = snapshot()
    t1 = time.monotonic()
    groups1 = stack.groups(snap1)
    by_key0 = {p.key: p for p in snap0.values()}
    by_key1 = {p.key: p for p in snap1.values()}
    roots = {**stack.roots, **stack.extra_roots}
    spent: dict[str, float] = {}
    for key in groups0.keys() | groups1.keys():
        before, after = by_key0.get(key), by_key1.get(key)
        if after is None:
            continue  # ended in the window: its parent's cutime has it, if the parent is ours
        group = groups1.get(key) or groups0[key]
        own = after.cpu - (before.cpu if before else 0.0)
        reaped = after.reaped - (before.reaped if before else 0.0)
        spent[group] = spent.get(group, 0.0) + own
        if reaped > 0:  # a root's short-lived children (git, tmux clients) show apart from it
            bucket = f"{group} children" if roots.get(after.pid) == group else group
            spent[bucket] = spent.get(bucket, 0.0) + reaped
    elapsed = t1 - t0
    pct = {g: 100.0 * s / elapsed for g, s in spent.items()}
    extra = {g: v for g, v in pct.items() if stack.is_extra(g)}
    parts = {g: v for g, v in pct.items() if not stack.is_extra(g)}
    return Usage(seconds=elapsed, total=sum(parts.values()), parts=parts, extra=extra)


def pss_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB, from smaps_rollup; (0, 0) if it is gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


@dataclass
class Memory:
    """PSS by group, in MB (10^6 bytes), with the number of processes in each group."""

    total_mb: float
    parts_mb: dict[str, float]
    counts: dict[str, int]
    rss_mb: float

    def to_json(self) -> dict[str, object]:
        return {
            "total_mb": round(self.total_mb, 1),
            "rss_mb": round(self.rss_mb, 1),
            "parts_mb": {k: round(v, 1) for k, v in sorted(self.parts_mb.items())},
            "counts": dict(sorted(self.counts.items())),
        }


def memory(stack: Stack) -> Memory:
    snap = snapshot()
    by_key = {p.key: p for p in snap.values()}
    parts: dict[str, float] = {}
    counts: dict[str, int] = {}
    rss_total = 0.0
    for key, group in stack.groups(snap).items():
        if stack.is_extra(group):
            continue
        pss, rss = pss_kib(by_key[key].pid)
        parts[group] = parts.get(group, 0.0) + pss * 1024 / 1e6
        counts[group] = counts.get(group, 0) + 1
        rss_total += rss * 1024 / 1e6
    return Memory(total_mb=sum(parts.values()), parts_mb=parts, counts=counts, rss_mb=rss_total)


def tagged(name: str, value: str) -> list[int]:
    """Pids whose environment has ``name=value`` (how the janitor finds strays)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry.name))
        except OSError:
            continue
    return found
