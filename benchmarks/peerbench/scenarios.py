"""What is measured: one method per group of table rows, each leaving nothing running.

Results accumulate in ``Bench.results[measure][tool]`` as one entry per round (or per
repetition), so the report can give medians, spreads and ratios between tools of the same run.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import procs, profile
from .janitor import Janitor
from .screen import Terminal, first_paint, key_latency
from .stacks import PYTHON, TALKER, JarvisStack, MprocsStack, Peer, Pm2Stack, make_repo, talkers_running

CATEGORIES = ("cpu", "memory", "paint", "latency", "spawn", "lines")


@dataclass
class Settings:
    agents: int = 20
    rate: float = 10
    rounds: int = 3
    only: frozenset[str] = frozenset(CATEGORIES)
    idle_agents: int = 100
    fast_rate: int = 2500
    window: float = 10.0
    warmup: float = 3.0
    samples: int = 60
    spawn_pairs: int = 5
    burst: int = 10
    flood_lines: int = 200_000
    multi_lines: int = 10_000
    repo_files: int = 4000
    spawn_repo: str = ""  # a real repository for the spawn scenario (cloned first), instead of a generated one

    def wants(self, *categories: str) -> bool:
        return any(c in self.only for c in categories)


@dataclass
class Bench:
    settings: Settings
    janitor: Janitor
    peers: dict[str, Peer]
    results: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    profile_dir: Path | None = None  # --profile: py-spy the jarvis processes after their windows
    _big_repo: Path | None = None

    # ------------------------------------------------------------------ plumbing

    def record(self, measure: str, tool: str, value: Any) -> None:
        self.results.setdefault(measure, {}).setdefault(tool, []).append(value)

    def say(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    @contextmanager
    def scene(self, what: str) -> Iterator[None]:
        """A scenario: its failure is recorded (the run goes on); its processes always stop."""
        self.say(what)
        try:
            yield
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            self.errors.append(f"{what}: {type(exc).__name__}: {exc}")
            self.say(f"  failed: {exc}")
        finally:
            self.janitor.cleanup()

    def terminal(self, name: str) -> Terminal:
        return Terminal(self.janitor, f"jbui-{name}-{self.janitor.run_id}")

    def run(self) -> None:
        s = self.settings
        tools = ["jarvis"] + [n for n in ("pm2", "mprocs") if self.peers[n].installed]
        fleet = {"jarvis": self.fleet_jarvis, "pm2": self.fleet_pm2, "mprocs": self.fleet_mprocs}
        for r in range(s.rounds):
            self.say(f"round {r + 1} of {s.rounds}")
            if s.wants("cpu", "memory", "paint", "latency"):
                for tool in tools[r % len(tools) :] + tools[: r % len(tools)]:  # rotate: no tool always first
                    if tool == "pm2" and not s.wants("cpu", "memory"):
                        continue  # pm2's figures are CPU and memory only (monit's screen is not read)
                    with self.scene(f"{tool}: {s.agents} agents x {s.rate:g} lines/s"):
                        fleet[tool](r)
            if s.wants("spawn"):
                with self.scene("spawn vs raw git worktree add + tmux new-session"):
                    self.spawn_round(r)
            if s.wants("lines"):
                for tool in [t for t in tools if t != "mprocs"]:
                    with self.scene(f"{tool}: lines lost"):
                        self.lines_round(tool, r)
        if s.wants("cpu", "paint", "latency"):
            with self.scene(f"jarvis: dashboard with 0 then {s.idle_agents} idle agents"):
                self.idle_jarvis()
        if s.wants("latency"):
            with self.scene(f"jarvis: key latency, {s.agents} agents x {s.fast_rate} lines/s"):
                self.latency_jarvis("fast", [f"rate={s.fast_rate}"] * s.agents)
            with self.scene("jarvis: key latency, one agent flooding"):
                self.latency_jarvis(
                    "flood", ["rate=0", "rate=0", f"rate=max seconds={self.flood_seconds()}", "rate=0", "rate=0"]
                )
        self.janitor.cleanup(final=True)

    def flood_seconds(self) -> int:
        return int(60 + self.settings.samples * 1.5)

    # ------------------------------------------------------------------ fleets: CPU, memory, paint

    def fleet_jarvis(self, r: int) -> None:
        s = self.settings
        term = self.terminal(f"fleet{r}")
        stack = JarvisStack(self.janitor, f"fleet{r}")
        for _ in range(s.agents):
            stack.spawn(f"rate={s.rate:g}")
        stack.wait_working()
        talkers_running(s.agents, self.janitor.run_id)
        if s.wants("cpu", "memory"):
            engine = stack.start_engine()
            time.sleep(s.warmup)
            self.measure("headless", "jarvis", stack.stack(engine=engine))
            self.profile(f"engine-{s.agents}-r{r}", engine)
            stack.stop_engine()
        paint, pid = first_paint(term, "dash", stack.argv(), stack.ids, cwd=str(stack.root), env=dash_env(stack))
        self.record("paint.fleet", "jarvis", paint)
        if paint is None:
            raise RuntimeError("the dashboard never showed the agents")
        time.sleep(s.warmup)
        self.measure("dashboard", "jarvis", stack.stack(dashboard=pid, terminal=term.server_pid()))
        self.profile(f"dashboard-{s.agents}-r{r}", pid)
        if s.wants("latency"):
            self.record("latency.fleet", "jarvis", key_latency(term, "dash", stack.ids, s.samples // 2).to_json())

    def fleet_pm2(self, r: int) -> None:
        s = self.settings
        stack = Pm2Stack(self.janitor, self.peers["pm2"], f"fleet{r}")
        stack.start({f"a{i:03d}": f"rate={s.rate:g}" for i in range(s.agents)})
        talkers_running(s.agents, self.janitor.run_id)
        time.sleep(s.warmup)
        self.measure("headless", "pm2", stack.stack())
        term = self.terminal(f"pm2{r}")
        monit = term.open("monit", stack.monit_argv(), cwd=str(stack.root), env={"PM2_HOME": str(stack.home)})
        time.sleep(s.warmup)
        self.measure("dashboard", "pm2", stack.stack(monit=monit, terminal=term.server_pid()))

    def fleet_mprocs(self, r: int) -> None:
        s = self.settings
        names = [f"a{i:03d}" for i in range(s.agents)]
        stack = MprocsStack(self.janitor, self.peers["mprocs"], f"fleet{r}", {n: f"rate={s.rate:g}" for n in names})
        term = self.terminal(f"mprocs{r}")
        paint, pid = first_paint(term, "mprocs", stack.argv, names, cwd=str(stack.root))
        self.record("paint.fleet", "mprocs", paint)
        talkers_running(s.agents, self.janitor.run_id)
        time.sleep(s.warmup)
        self.measure("dashboard", "mprocs", stack.stack(pid, terminal=term.server_pid()))
        if s.wants("latency"):
            self.record("latency.fleet", "mprocs", key_latency(term, "mprocs", names, s.samples // 2).to_json())

    def profile(self, name: str, pid: int) -> None:
        if self.profile_dir is not None:
            self.say(f"  py-spy: {name}")
            self.record(
                f"profile.{name}", "jarvis", profile.record(pid, self.settings.window, self.profile_dir / f"{name}.txt")
            )

    def measure(self, variant: str, tool: str, stack: procs.Stack) -> None:
        if self.settings.wants("cpu"):
            self.record(f"cpu.{variant}", tool, procs.cpu_usage(stack, self.settings.window).to_json())
        if self.settings.wants("memory"):
            self.record(f"mem.{variant}", tool, procs.memory(stack).to_json())

    # ------------------------------------------------------------------ jarvis alone

    def idle_jarvis(self) -> None:
        """First paint with 0 agents, then M idle agents: first paint, dashboard CPU, key latency."""
        s = self.settings
        term = self.terminal("idle")
        stack = JarvisStack(self.janitor, "idle")
        if s.wants("paint"):
            for rep in range(s.rounds):
                paint, pid = first_paint(
                    term, f"empty{rep}", stack.argv(), [], cwd=str(stack.root), env=dash_env(stack)
                )
                self.record("paint.empty", "jarvis", paint)
                close_app(term, f"empty{rep}", pid)
        for _ in range(s.idle_agents):
            stack.spawn("rate=0")
        stack.wait_working(timeout=600)
        talkers_running(s.idle_agents, self.janitor.run_id)
        per_rep = math.ceil(s.samples / s.rounds)
        for rep in range(s.rounds):
            paint, pid = first_paint(
                term, f"idle{rep}", stack.argv(), stack.ids, cwd=str(stack.root), env=dash_env(stack)
            )
            self.record("paint.idle", "jarvis", paint)
            if paint is None:
                raise RuntimeError("the dashboard never showed the idle agents")
            time.sleep(s.warmup)
            if s.wants("cpu"):
                usage = procs.cpu_usage(stack.stack(dashboard=pid, terminal=term.server_pid()), s.window)
                self.record("cpu.idle", "jarvis", usage.to_json())
            if rep == 0:
                self.profile(f"dashboard-idle-{s.idle_agents}", pid)
            if s.wants("latency"):
                self.record("latency.idle", "jarvis", key_latency(term, f"idle{rep}", stack.ids, per_rep).to_json())
            close_app(term, f"idle{rep}", pid)

    def latency_jarvis(self, name: str, specs: list[str]) -> None:
        s = self.settings
        term = self.terminal(name)
        stack = JarvisStack(self.janitor, name)
        for spec in specs:
            stack.spawn(spec)
        stack.wait_working()
        paint, _pid = first_paint(term, "dash", stack.argv(), stack.ids, cwd=str(stack.root), env=dash_env(stack))
        if paint is None:
            raise RuntimeError("the dashboard never showed the agents")
        time.sleep(s.warmup)
        self.record(f"latency.{name}", "jarvis", key_latency(term, "dash", stack.ids, s.samples).to_json())

    # ------------------------------------------------------------------ spawn vs the raw floor

    def big_repo(self) -> Path:
        if self._big_repo is None:
            folder = self.janitor.tempdir("bigrepo", keep=True) / "repo"
            if self.settings.spawn_repo:  # a clone: its branches and worktrees never touch the original
                self.say(f"  cloning {self.settings.spawn_repo}")
                subprocess.run(
                    ["git", "clone", "-q", "--no-checkout", self.settings.spawn_repo, str(folder)], check=True
                )
                self._big_repo = folder
            else:
                self.say(f"  generating a {self.settings.repo_files}-file repository")
                self._big_repo = make_repo(folder, self.settings.repo_files)
        subprocess.run(["git", "-C", str(self._big_repo), "worktree", "prune"], check=False)
        return self._big_repo

    def repo_label(self, repo: Path) -> str:
        """What the spawn row names: the real repository's name and size, or the generated one's."""
        listed = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True)
        files = f"{len(listed.stdout.splitlines()):,} files"
        if self.settings.spawn_repo:
            return f"{Path(self.settings.spawn_repo.rstrip('/')).name}, {files}"
        return f"generated, {files}"

    def spawn_round(self, r: int) -> None:
        """Pairs of (jarvis spawn, raw git worktree add + tmux new-session) on the same repo,
        rotating which goes first, each with a third run: raw with the git options jarvis uses
        (its checkout workers), so jarvis's own cost shows too; then a burst of each in a row."""
        s = self.settings
        repo = self.big_repo()
        stack = JarvisStack(self.janitor, f"spawn{r}", repo=repo)
        raw_socket = self.janitor.socket(f"jbraw-{r}-{self.janitor.run_id}")
        raw_dir = stack.root / "raw"
        count = iter(range(10**6))

        def raw(*git_options: str) -> float:
            i = next(count)
            start = time.monotonic()
            tree = raw_dir / f"w{i}"
            subprocess.run(
                [
                    "git",
                    *git_options,
                    "-C",
                    str(repo),
                    "worktree",
                    "add",
                    "-q",
                    "-b",
                    f"bench-raw-{self.janitor.run_id}-{r}-{i}",
                    str(tree),
                    "HEAD",
                ],
                check=True,
                env=stack.env,
            )
            subprocess.run(
                [
                    "tmux",
                    "-L",
                    raw_socket,
                    "-f",
                    "/dev/null",
                    "new-session",
                    "-d",
                    "-s",
                    f"w{i}",
                    "-c",
                    str(tree),
                    PYTHON,
                    TALKER,
                    "rate=0",
                ],
                check=True,
                env=stack.env,
            )
            return time.monotonic() - start

        def jarvis() -> float:
            start = time.monotonic()
            stack.spawn("rate=0")
            return time.monotonic() - start

        def same_git() -> float:  # raw, with the checkout workers jarvis's default config uses
            return raw("-c", "checkout.workers=0")

        raw(), jarvis()  # warm-up: disk cache, both tmux servers up
        pairs, same = [], []
        for i in range(s.spawn_pairs):
            order = [jarvis, raw, same_git]
            order = order[(i + r) % 3 :] + order[: (i + r) % 3]
            took = {fn: fn() for fn in order}
            pairs.append((took[jarvis], took[raw]))
            same.append((took[jarvis], took[same_git]))
        entry: dict[str, Any] = {"pairs": pairs, "same_git": same, "repo": self.repo_label(repo)}
        if s.burst > 0:
            runs: dict[str, float] = {}
            for name, fn in (("jarvis", jarvis), ("raw", raw)) if r % 2 == 0 else (("raw", raw), ("jarvis", jarvis)):
                start = time.monotonic()
                for _ in range(s.burst):
                    fn()
                runs[name] = time.monotonic() - start
            entry["burst"] = (runs["jarvis"], runs["raw"])
        self.record("spawn", "jarvis", entry)

    # ------------------------------------------------------------------ lines lost

    def lines_round(self, tool: str, r: int) -> None:
        s = self.settings
        for case, count, names in (
            ("flood", s.flood_lines, ["f0"]),
            ("multi", s.multi_lines, [f"m{i:03d}" for i in range(s.agents)]),
        ):
            go = self.janitor.tempdir(f"go{case}") / "go"  # all talkers start when this exists
            rate = "max" if case == "flood" else s.fast_rate
            specs = {n: f"rate={rate} count={count} go={go}" for n in names}
            budget = 60 + 3 * count / (s.fast_rate if case == "multi" else 20_000)
            if tool == "jarvis":
                stack = JarvisStack(self.janitor, f"lines{case}{r}")
                ids = [stack.spawn(spec) for spec in specs.values()]
                logs = {f"T{ident}": stack.log_path(ident) for ident in ids}
            else:
                pm2 = Pm2Stack(self.janitor, self.peers["pm2"], f"lines{case}{r}")
                pm2.start(specs, autorestart=False)
                logs = {f"T{name}": pm2.log_path(name) for name in specs}
            go.touch()
            lost = wait_and_count(logs, count, budget)
            self.record(f"lines.{case}", tool, lost)
            self.janitor.cleanup()


# ------------------------------------------------------------------ helpers


def dash_env(stack: JarvisStack) -> dict[str, str]:
    return {"PYTHONPATH": stack.env["PYTHONPATH"]}


def close_app(term: Terminal, name: str, pid: int, timeout: float = 15) -> None:
    """Close a dashboard the way a closed terminal does (SIGHUP) and wait until it is gone."""
    term.close(name)
    deadline = time.monotonic() + timeout
    while procs.read_proc(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)


def count_lines(path: Path, tag: str, expected: int) -> tuple[int, bool]:
    """(how many of the numbered lines 0..expected-1 are in the log, whether END is there)."""
    pattern = re.compile(rb"(?:^|[\r\n])" + re.escape(tag.encode()) + rb" (\d{8}) ")
    try:
        data = path.read_bytes()
    except OSError:
        return 0, False
    seen = {int(m.group(1)) for m in pattern.finditer(data)}
    ended = f"{tag} END ".encode() in data
    return sum(1 for n in seen if n < expected), ended


def wait_and_count(
    logs: dict[str, Path],
    expected: int,
    budget: float,
    *,
    stall: float = 15.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """Wait for every talker's END line: up to ``budget`` s, or until the logs have not grown
    for ``stall`` s. Then count what is missing: numbered lines, and END itself (a supervisor
    that drops the last write before a process exits loses exactly that tail)."""
    deadline = clock() + budget
    pending = dict(logs)
    last_size, last_growth = -1, clock()
    while pending and clock() < deadline and clock() - last_growth < stall:
        for tag, path in list(pending.items()):
            if count_lines(path, tag, expected)[1]:
                del pending[tag]
        size = sum(p.stat().st_size for p in logs.values() if p.exists())
        if size != last_size:
            last_size, last_growth = size, clock()
        time.sleep(0.5)
    time.sleep(1.0)  # the supervisor may still be writing the last lines after END shows
    missing = {}
    for tag, path in logs.items():
        seen, ended = count_lines(path, tag, expected)
        missing[tag] = expected - seen + (0 if ended else 1)
    return {
        "expected": (expected + 1) * len(logs),
        "lost": sum(missing.values()),
        "agents_missing_lines": sum(1 for m in missing.values() if m),
        "without_end": sum(1 for tag, path in logs.items() if not count_lines(path, tag, expected)[1]),
    }
