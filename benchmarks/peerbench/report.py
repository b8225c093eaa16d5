"""Medians, spreads, ratios against the peer measured in the same run, goals, and the table.

Every cell is a median over rounds (spread min-max in brackets when there were several);
latencies pool all samples and give p50/p95. A ratio compares medians of the same run, so a
busy machine slows both sides alike -- the absolute numbers move with the load, the ratios less.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from .scenarios import Settings
from .stacks import CHECKOUT, Peer

OK, MISS = "✓", "✗"


# ------------------------------------------------------------------ numbers


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * p / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def spread(values: list[float], fmt: str) -> str:
    text = format(median(values), fmt)
    if len(values) > 1:
        text += f" ({format(min(values), fmt)}-{format(max(values), fmt)})"
    return text


# ------------------------------------------------------------------ machine and load


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return "?"
    return out.strip().splitlines()[0] if out.strip() else "?"


def loadavg() -> tuple[float, float, float]:
    with open("/proc/loadavg", encoding="ascii") as fh:
        one, five, fifteen = fh.read().split()[:3]
    return float(one), float(five), float(fifteen)


def machine(peers: dict[str, Peer]) -> dict[str, Any]:
    mem_kib = 0
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
    except OSError:
        pass
    commit = _first_line(["git", "-C", str(CHECKOUT), "log", "-1", "--format=%h %cs"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "tmux": _first_line(["tmux", "-V"]).removeprefix("tmux "),
        "git": _first_line(["git", "--version"]).removeprefix("git version "),
        "python": platform.python_version(),
        "jarvis_commit": commit,
        "peers": {name: (peer.version if peer.installed else None) for name, peer in peers.items()},
        "load_start": loadavg(),
    }


class LoadWatch:
    """The 1-minute load average every few seconds during the run: the noise to read figures by."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = [loadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(loadavg()[0])

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self.samples.append(loadavg()[0])
        return {"min": min(self.samples), "median": median(self.samples), "max": max(self.samples)}


# ------------------------------------------------------------------ the table


@dataclass
class Row:
    measure: str
    jarvis: str
    pm2: str
    mprocs: str
    goal: str
    met: bool | None = None


class Table:
    def __init__(self, settings: Settings, results: dict[str, dict[str, list[Any]]], peers: dict[str, Peer]) -> None:
        self.s = settings
        self.r = results
        self.peers = peers

    def get(self, measure: str, tool: str) -> list[Any]:
        return [v for v in self.r.get(measure, {}).get(tool, []) if v is not None]

    def cell(self, tool: str, measure: str, render: Any) -> str:
        if tool in self.peers and not self.peers[tool].installed:
            return "not installed"
        values = self.get(measure, tool)
        return render(values) if values else "-"

    def goal(self, text: str, value: float | None, limit: float, unit: str = "") -> tuple[str, bool | None]:
        if value is None:
            return f"{text}: -", None
        met = value <= limit
        fmt = {"x": ".2f", " ms": ".0f", " s": ".2f"}.get(unit, ".1f")
        return f"{text}: {value:{fmt}}{unit} {OK if met else MISS}", met

    def ratio(self, measure: str, tool: str, peer: str, key: Any) -> float | None:
        mine, theirs = self.get(measure, tool), self.get(measure, peer)
        if not mine or not theirs:
            return None
        low = median([key(v) for v in theirs])
        return median([key(v) for v in mine]) / low if low > 0 else None

    def rows(self) -> list[Row]:
        s = self.s
        rows: list[Row] = []
        if s.wants("cpu"):
            rows += self.cpu_rows()
        if s.wants("memory"):
            rows += self.memory_rows()
        if s.wants("paint"):
            rows.append(self.paint_row())
        if s.wants("latency"):
            rows += self.latency_rows()
        if s.wants("spawn"):
            rows.append(self.spawn_row())
        if s.wants("lines"):
            rows.append(self.lines_row())
        return rows

    def cpu_rows(self) -> list[Row]:
        s = self.s
        total = lambda v: v["total"]  # noqa: E731
        pct = lambda vs: spread([v["total"] for v in vs], ".1f") + " %"  # noqa: E731
        text, met = self.goal("<= 0.5x mprocs", self.ratio("cpu.dashboard", "jarvis", "mprocs", total), 0.5, "x")
        dashboard = Row(
            f"whole stack CPU, {s.agents} agents x {s.rate:g} lines/s, dashboard open",
            self.cell("jarvis", "cpu.dashboard", lambda vs: pct(vs) + parts(vs)),
            self.cell("pm2", "cpu.dashboard", lambda vs: "pm2 + monit " + pct(vs)),
            self.cell("mprocs", "cpu.dashboard", pct),
            text,
            met,
        )
        text, met = self.goal("<= 0.8x pm2 daemon", self.ratio("cpu.headless", "jarvis", "pm2", total), 0.8, "x")
        headless = Row(
            f"whole stack CPU, {s.agents} agents, headless",
            self.cell("jarvis", "cpu.headless", lambda vs: pct(vs) + parts(vs)),
            self.cell("pm2", "cpu.headless", lambda vs: "daemon " + pct(vs)),
            "-",
            text,
            met,
        )

        def part(vs: list[dict[str, Any]], name: str) -> float:
            return median([v["parts"].get(name, 0.0) for v in vs])

        def with_children(v: dict[str, Any]) -> float:
            return v["parts"].get("dashboard", 0.0) + v["parts"].get("dashboard children", 0.0)

        def idle_text(vs: list[dict[str, Any]]) -> str:
            return (
                spread([with_children(v) for v in vs], ".1f") + f" % (own {part(vs, 'dashboard'):.1f}, "
                f"children {part(vs, 'dashboard children'):.1f}; "
                f"whole stack {median([v['total'] for v in vs]):.1f})"
            )

        idle = self.get("cpu.idle", "jarvis")
        text, met = self.goal(
            "<= 5 % incl. children", median([with_children(v) for v in idle]) if idle else None, 5, " %"
        )
        idle_row = Row(
            f"dashboard CPU, {s.idle_agents} idle agents",
            self.cell("jarvis", "cpu.idle", idle_text),
            "-",
            "-",
            text,
            met,
        )
        return [dashboard, headless, idle_row]

    def memory_rows(self) -> list[Row]:
        s = self.s
        mb = lambda vs: spread([v["total_mb"] for v in vs], ".0f") + " MB"  # noqa: E731
        key = lambda v: v["total_mb"]  # noqa: E731
        text, met = self.goal("<= 1x pm2 daemon", self.ratio("mem.headless", "jarvis", "pm2", key), 1.0, "x")
        headless = Row(
            f"stack memory (PSS), {s.agents} agents, headless",
            self.cell("jarvis", "mem.headless", lambda vs: mb(vs) + mem_parts(vs)),
            self.cell("pm2", "mem.headless", lambda vs: "daemon " + mb(vs)),
            "-",
            text,
            met,
        )
        text, met = self.goal("<= 1x pm2 + monit", self.ratio("mem.dashboard", "jarvis", "pm2", key), 1.0, "x")
        dashboard = Row(
            f"stack memory (PSS), {s.agents} agents, dashboard open",
            self.cell("jarvis", "mem.dashboard", lambda vs: mb(vs) + mem_parts(vs)),
            self.cell("pm2", "mem.dashboard", lambda vs: "pm2 + monit " + mb(vs)),
            self.cell("mprocs", "mem.dashboard", mb),
            text,
            met,
        )
        per = [
            (v["parts_mb"].get("launchers", 0) + v["parts_mb"].get("pipes", 0)) / s.agents
            for v in self.get("mem.headless", "jarvis")
        ]
        text, met = self.goal("<= 2 MB", median(per) if per else None, 2.0, " MB")
        per_agent = Row(
            "memory per agent (launcher + log pipe, PSS)",
            spread(per, ".1f") + " MB" if per else "-",
            "-",
            "-",
            text,
            met,
        )
        return [headless, dashboard, per_agent]

    def paint_row(self) -> Row:
        s = self.s
        paints = []
        for measure, n in (("paint.empty", 0), ("paint.fleet", s.agents), ("paint.idle", s.idle_agents)):
            if values := self.get(measure, "jarvis"):
                paints.append(f"{spread(values, '.2f')} s ({n})")
        idle = self.get("paint.idle", "jarvis")
        text, met = self.goal(f"<= 0.3 s at {s.idle_agents}", median(idle) if idle else None, 0.3, " s")
        return Row(
            "first paint (agents)",
            ", ".join(paints) or "-",
            "-",
            self.cell("mprocs", "paint.fleet", lambda vs: f"{spread(vs, '.2f')} s ({s.agents})"),
            text,
            met,
        )

    def latency_rows(self) -> list[Row]:
        s = self.s
        rows = []
        for measure, label, limit in (
            ("latency.idle", f"key latency (cursor), {s.idle_agents} idle agents", 50),
            ("latency.fleet", f"key latency, {s.agents} agents x {s.rate:g} lines/s", None),
            ("latency.fast", f"key latency, {s.agents} agents x {s.fast_rate} lines/s", 100),
            ("latency.flood", "key latency, one agent flooding (+4 idle)", 100),
        ):
            if limit is None:  # no goal: compared with mprocs for information
                ratio = self.ratio(
                    measure, "jarvis", "mprocs", lambda v: percentile(v["samples_ms"], 95) if v["samples_ms"] else 0.0
                )
                text, met = (f"info: p95 {ratio:.1f}x mprocs" if ratio else "info"), None
            else:
                text, met = self.goal(f"p95 <= {limit} ms", latency_p95(self.get(measure, "jarvis")), limit, " ms")
            rows.append(
                Row(
                    label,
                    self.cell("jarvis", measure, latency_text),
                    "-",
                    self.cell("mprocs", measure, latency_text) if measure == "latency.fleet" else "-",
                    text,
                    met,
                )
            )
        return rows

    def lines_row(self) -> Row:
        s = self.s

        def text(vs: list[dict[str, Any]]) -> str:
            return " / ".join(
                str(v["lost"]) + (f" ({v['without_end']} lost their last line)" if v["without_end"] else "") for v in vs
            )

        def both(tool: str) -> str:
            if tool in self.peers and not self.peers[tool].installed:
                return "not installed"
            return self.cell(tool, "lines.flood", text) + "; " + self.cell(tool, "lines.multi", text)

        lost = [v["lost"] for m in ("lines.flood", "lines.multi") for v in self.get(m, "jarvis")]
        met = (max(lost) == 0) if lost else None
        return Row(
            f"lines lost (each round): 1 x {s.flood_lines:,} flooding; {s.agents} x {s.multi_lines:,} "
            f"at {s.fast_rate:,}/s",
            both("jarvis"),
            both("pm2"),
            "n/a (keeps no log)" if self.peers["mprocs"].installed else "not installed",
            f"0 at every rate: {'-' if met is None else (OK if met else MISS)}",
            met,
        )

    def spawn_row(self) -> Row:
        s = self.s
        entries = self.get("spawn", "jarvis")
        pairs = [p for e in entries for p in e["pairs"]]
        repo = entries[0].get("repo") if entries else None
        label = f"spawn vs raw `git worktree add` + `tmux new-session` ({repo or f'{s.repo_files:,} files'})"
        if not pairs:
            return Row(
                label,
                "-",
                "-",
                "-",
                "<= 1.15x: -",
            )
        ratio = median([j / r for j, r in pairs])
        text = (
            f"{ratio:.2f}x ({median([j for j, _ in pairs]):.2f} s vs {median([r for _, r in pairs]):.2f} s, "
            f"pairwise {min(j / r for j, r in pairs):.2f}-{max(j / r for j, r in pairs):.2f})"
        )
        bursts = [e["burst"] for e in entries if "burst" in e]
        if bursts:
            text += f"; {s.burst} in a row {median([j / r for j, r in bursts]):.2f}x"
        same = [p for e in entries for p in e.get("same_git", [])]
        if same:  # jarvis's own cost: over raw git given the same checkout workers
            text += (
                f"; vs raw with jarvis's checkout workers {median([j / r for j, r in same]):.2f}x "
                f"(+{median([j - r for j, r in same]) * 1000:.0f} ms)"
            )
        goal, met = self.goal("<= 1.15x", ratio, 1.15, "x")
        return Row(label, text, "-", "-", goal, met)


def parts(values: list[dict[str, Any]]) -> str:
    names = sorted({k for v in values for k in v["parts"]})
    meds = {n: median([v["parts"].get(n, 0.0) for v in values]) for n in names}
    shown = [f"{n} {m:.1f}" for n, m in sorted(meds.items(), key=lambda kv: -kv[1]) if m >= 0.05]
    return f" ({', '.join(shown)})" if shown else ""


def mem_parts(values: list[dict[str, Any]]) -> str:
    names = sorted({k for v in values for k in v["parts_mb"]})
    out = []
    for name in sorted(names, key=lambda n: -median([v["parts_mb"].get(n, 0.0) for v in values])):
        size = median([v["parts_mb"].get(name, 0.0) for v in values])
        count = values[-1]["counts"].get(name, 0)
        if size < 0.5:
            continue
        out.append(f"{name} {size:.0f}" + (f" in {count}" if count > 1 else ""))
    return f" ({', '.join(out)})" if out else ""


def latency_p95(values: list[dict[str, Any]]) -> float | None:
    samples = [x for v in values for x in v["samples_ms"]]
    return percentile(samples, 95) if samples else None


def latency_text(values: list[dict[str, Any]]) -> str:
    samples = [x for v in values for x in v["samples_ms"]]
    timeouts = sum(v["timeouts"] for v in values)
    errors = {v["error"] for v in values if v["error"]}
    if not samples:
        return "unmeasured: " + "; ".join(sorted(errors)) if errors else "-"
    text = f"p50 {percentile(samples, 50):.0f} ms, p95 {percentile(samples, 95):.0f} ms (n={len(samples)}"
    return text + (f", {timeouts} timed out)" if timeouts else ")")


def render(meta: dict[str, Any], settings: Settings, rows: list[Row]) -> str:
    m = meta
    peers = ", ".join(f"{k} {v}" if v else f"{k} not installed" for k, v in m["peers"].items())
    load = m.get("load_during", {})
    lines = [
        f"Benchmarks of {m['date']} (jarvis {m['jarvis_commit']}; {settings.rounds} round(s), "
        f"agents print {settings.rate:g} lines/s unless said otherwise)",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}, tmux {m['tmux']}, "
        f"git {m['git']}, Python {m['python']}; {peers}.",
        "Load average at start: "
        + " ".join(f"{x:.2f}" for x in m["load_start"])
        + (
            f"; 1-min load during the run: {load['min']:.2f}-{load['max']:.2f} (median {load['median']:.2f})"
            if load
            else ""
        )
        + ".",
        "",
        "| measure | jarvis | pm2 | mprocs | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(f"| {row.measure} | {row.jarvis} | {row.pm2} | {row.mprocs} | {row.goal} |")
    return "\n".join(lines)
