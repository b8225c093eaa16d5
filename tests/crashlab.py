"""The crash lab: random operations and faults on a real jarvis, and the invariants that
must hold after each (issue 8). Shared by the bounded property test in CI
(tests/test_crash_property.py) and the long form (tests/crash_stress.py).

Everything is real: the ``jarvis`` CLI in subprocesses, tmux on a private socket, git
worktrees, SQLite, the headless engine started on demand, the demo agent. Faults are
SIGKILLs: of a CLI command a random 0-300 ms into it, of the engine, of an agent.

Invariants, checked after every step within a bounded recovery time (the next jarvis
command reconciles and recovers):
- no record lost: every task ever spawned is listed;
- a task has at most one live attempt;
- registry, tmux, worktrees and processes agree: no orphan session, worktree or tagged
  process, every running agent has its session, nothing stays ``starting`` or claimed by a
  dead process;
- no work lost: every file written into an agent's worktree is, byte for byte, in some
  worktree or under a ref (branch, refs/jarvis/*).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
LIVE = {"queued", "blocked", "starting", "working", "waiting"}
CONFIG = """\
[supervisor]
repo = "repo"
state_dir = "state"
tmux_socket = "{socket}"
max_agents = 3
kill_grace = 1

[resources]
cpu_safe = 1000
cpu_danger = 1000
ram_safe = 1000
ram_danger = 1000

[agents.demo]
command = ["python", "-m", "jarvis_tui.demo_agent", "{{prompt}}"]
waiting_patterns = ["\\\\[y/N\\\\]"]
waiting_after = 0
env = {{ DEMO_SPEED = "20" }}
"""
PROMPTS = ("#hang", "#hang #dirty", "#steps=30", "#steps=4 #exit=3", "#steps=2 #ask", "#hang #daemon")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "lab",
    "GIT_AUTHOR_EMAIL": "lab@x.invalid",
    "GIT_COMMITTER_NAME": "lab",
    "GIT_COMMITTER_EMAIL": "lab@x.invalid",
}


@dataclass
class Stats:
    operations: int = 0
    faults: int = 0
    broken: list[str] = field(default_factory=list)  # invariants that did not recover in time
    records_lost: int = 0
    bytes_lost: int = 0
    orphans_left: int = 0
    worst_recovery: float = 0.0


class Lab:
    """One scratch repository, state folder and private tmux server."""

    def __init__(self, seed: int, *, recovery_timeout: float = 10.0) -> None:
        self.rand = random.Random(seed)
        self.root = Path(tempfile.mkdtemp(prefix="jarvis-crashlab-"))
        self.repo = self.root / "repo"
        self.state = self.root / "state"
        self.socket = f"jarvis-lab-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.recovery_timeout = recovery_timeout
        self.tasks: set[str] = set()
        self.files: list[tuple[str, str, bytes]] = []  # (agent id, path in worktree, content)
        self.stats = Stats()
        self._git("init", "-q", "-b", "main", cwd=self.root, path=self.repo)
        (self.repo / "README.md").write_text("# lab\n")
        self._git("add", ".")
        self._git("commit", "-q", "-m", "initial")
        (self.root / "config.toml").write_text(CONFIG.format(socket=self.socket))

    # ------------------------------------------------------------------ plumbing

    def _git(self, *args: str, cwd: Path | None = None, path: Path | None = None) -> str:
        argv = ["git", "-C", str(cwd or self.repo), *args] + ([str(path)] if path else [])
        return subprocess.run(argv, capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}).stdout

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "JARVIS_AGENT_ID")}
        return env | {
            "JARVIS_CONFIG": str(self.root / "config.toml"),
            "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH")))),
        }

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jarvis_tui", *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "jarvis_tui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.root,
        )

    def agents(self) -> list[dict[str, Any]]:
        proc = self.cli("ls", "--all", "--json")
        if proc.returncode != 0:
            raise AssertionError(f"jarvis ls failed: {proc.stderr}")
        return json.loads(proc.stdout)

    def pick(self, statuses: set[str] | None = None) -> dict[str, Any] | None:
        agents = [a for a in self.agents() if not a["removed"] and (statuses is None or a["status"] in statuses)]
        return self.rand.choice(agents) if agents else None

    # ------------------------------------------------------------------ operations

    def spawn(self) -> None:
        args = ["spawn", "--json", "-p", self.rand.choice(("critical", "high", "medium", "low"))]
        if self.tasks and self.rand.random() < 0.2:
            args += ["--after", self.rand.choice(sorted(self.tasks))]
        args.append(f"lab task {uuid.uuid4().hex[:4]} {self.rand.choice(PROMPTS)}")
        proc = self.cli(*args)
        if proc.returncode == 0:
            self.tasks.add(json.loads(proc.stdout)["task_id"])

    def fire(self) -> None:
        agent = self.pick(LIVE)
        if agent:
            self.cli("fire", agent["id"], "--reason", self.rand.choice(("derailed", "dumb", "unresponsive")))

    def retry(self) -> None:
        agent = self.pick({"done", "failed", "fired"})
        if agent:
            self.cli("retry", agent["id"], *(["--fresh"] if self.rand.random() < 0.2 else []))

    def remove(self) -> None:
        agent = self.pick({"done", "failed", "fired"})
        if agent:
            self.cli("rm", agent["id"])

    def send(self) -> None:
        agent = self.pick({"working", "waiting"})
        if agent:
            self.cli("send", agent["id"], self.rand.choice(("y", "n", "$(echo no) 'q'")))

    def write_file(self) -> None:
        """The agent writes a file (as real agents do, uncommitted): it must never be lost."""
        agent = self.pick({"working", "waiting"})
        if not agent or not agent["worktree"] or agent.get("claim"):
            return
        worktree = Path(agent["worktree"])
        if not (worktree / ".git").exists():
            return
        rel = f"work/{uuid.uuid4().hex[:8]}.txt"
        data = os.urandom(self.rand.randint(1, 2048))
        (worktree / "work").mkdir(exist_ok=True)
        (worktree / rel).write_bytes(data)
        self.files.append((agent["id"], rel, data))

    def kill_agent(self) -> None:
        agent = self.pick({"working", "waiting"})
        if agent and agent["pid"]:
            for proc in _tree(agent["pid"])[1:]:  # the agent, not the launcher: it records the kill
                _kill(proc.pid)
            self.stats.faults += 1

    def kill_engine(self) -> None:
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmd = proc.info["cmdline"] or []
            if "engine" in cmd and "jarvis_tui" in cmd and proc.pid != os.getpid():
                try:
                    if proc.environ().get("JARVIS_CONFIG") == str(self.root / "config.toml"):
                        _kill(proc.pid)
                        self.stats.faults += 1
                except psutil.Error:
                    continue

    def kill_mid_operation(self) -> None:
        """A CLI command killed -9 a random 0-300 ms into its run."""
        agent = self.pick()
        op = self.rand.choice(("spawn", "fire", "retry", "rm"))
        if op == "spawn" or agent is None:
            args = ["spawn", f"killed spawn {uuid.uuid4().hex[:4]} {self.rand.choice(PROMPTS)}"]
        elif op == "fire":
            args = ["fire", agent["id"], "--reason", "derailed"]
        else:
            args = [op, agent["id"]]
        proc = self.popen(*args)
        time.sleep(self.rand.uniform(0.0, 0.3))
        _kill(proc.pid)
        _out, _ = proc.communicate()
        self.stats.faults += 1
        if op == "spawn":  # it may have recorded a task before it died: adopt it into the model
            self.tasks.update(a["task_id"] for a in self.agents() if a["title"].startswith("killed spawn"))

    def concurrent(self) -> None:
        """Two commands at once on one agent."""
        agent = self.pick()
        if agent is None:
            return
        ops = [
            ["fire", agent["id"], "--reason", "dumb"],
            ["rm", agent["id"]],
            ["retry", agent["id"]],
            ["send", agent["id"], "y"],
        ]
        procs = [self.popen(*self.rand.choice(ops)) for _ in range(2)]
        for proc in procs:
            proc.communicate(timeout=120)

    OPERATIONS = {
        "spawn": 5,
        "fire": 3,
        "retry": 3,
        "remove": 2,
        "send": 1,
        "write_file": 4,
        "kill_agent": 1,
        "kill_engine": 1,
        "kill_mid_operation": 3,
        "concurrent": 2,
    }

    def random_operation(self) -> str:
        names = list(self.OPERATIONS)
        name = self.rand.choices(names, weights=[self.OPERATIONS[n] for n in names])[0]
        getattr(self, name)()
        self.stats.operations += 1
        return name

    # ------------------------------------------------------------------ invariants

    def problems(self) -> list[str]:
        agents = self.agents()
        found: list[str] = []
        by_id = {a["id"]: a for a in agents}
        tasks = {a["task_id"] for a in agents}
        found += [f"record lost: task {t}" for t in sorted(self.tasks - tasks)]
        live: dict[str, list[str]] = {}
        for a in agents:
            if a["status"] in LIVE and not a["removed"]:
                live.setdefault(a["task_id"], []).append(a["id"])
        found += [f"task {t} has {len(ids)} live attempts: {ids}" for t, ids in live.items() if len(ids) > 1]
        sessions = _sessions(self.socket)
        for name in sessions:
            if name.startswith("jarvis-") and name != "jarvis-engine":
                agent = by_id.get(name[len("jarvis-") :])
                if agent is None or agent["removed"] or agent["status"] == "fired":
                    found.append(f"orphan session {name}")
        for a in agents:
            if a["status"] in ("working", "waiting") and a["tmux_session"] not in sessions:
                found.append(f"{a['id']} is {a['status']} without its session")
            if a["status"] == "starting" or a.get("claim"):
                found.append(f"{a['id']} stuck: {a['status']} claim={a.get('claim')}")
        referenced = {str(Path(a["worktree"]).resolve()) for a in agents if a["worktree"]}
        worktrees = self.state / "worktrees"
        if worktrees.is_dir():
            found += [
                f"orphan worktree {p.name}"
                for p in worktrees.iterdir()
                if p.is_dir() and str(p.resolve()) not in referenced
            ]
        ended = {a["id"] for a in agents if a["status"] == "fired" or a["removed"]}
        for proc in psutil.process_iter(["pid"]):
            try:
                tag = proc.environ().get("JARVIS_AGENT_ID")
                if tag in ended and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(f"orphan process {proc.pid} of {tag}")
            except psutil.Error:
                continue
        found += self.lost_work()
        return found

    def lost_work(self) -> list[str]:
        if not self.files:
            return []
        wanted = {path: data for _, path, data in self.files}
        seen: set[str] = set()
        worktrees = self.state / "worktrees"
        for tree in worktrees.iterdir() if worktrees.is_dir() else []:
            for path, data in wanted.items():
                file = tree / path
                if path not in seen and file.is_file() and file.read_bytes() == data:
                    seen.add(path)
        refs = self._git("for-each-ref", "--format=%(objectname)", "refs/jarvis", "refs/heads/jarvis").split()
        for sha in dict.fromkeys(refs):
            if len(seen) == len(wanted):
                break
            listing = self._git("ls-tree", "-r", "--name-only", sha, "--", "work/").split()
            for path in listing:
                if path in wanted and path not in seen:
                    blob = subprocess.run(
                        ["git", "-C", str(self.repo), "cat-file", "blob", f"{sha}:{path}"],
                        capture_output=True,
                        check=False,
                    ).stdout
                    if blob == wanted[path]:
                        seen.add(path)
        lost = [(aid, path, data) for aid, path, data in self.files if path not in seen]
        return [f"work lost: {path} ({len(data)} bytes) written into {aid}'s worktree" for aid, path, data in lost]

    def check(self) -> list[str]:
        """Wait (bounded) until every invariant holds; record the time it took; what still fails."""
        began = time.monotonic()
        while True:
            problems = self.problems()
            took = time.monotonic() - began
            if not problems or took > self.recovery_timeout:
                break
            time.sleep(0.2)
        self.stats.worst_recovery = max(self.stats.worst_recovery, took)
        if problems:
            self.stats.broken += problems
            self.stats.records_lost += sum(p.startswith("record lost") for p in problems)
            self.stats.bytes_lost += sum(
                len(d) for _, path, d in self.files if any(path in p for p in problems if p.startswith("work lost"))
            )
            self.stats.orphans_left += sum(p.startswith("orphan") for p in problems)
        return problems

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        for proc in psutil.process_iter(["pid"]):
            try:
                if proc.environ().get("JARVIS_CONFIG") == str(self.root / "config.toml") and proc.pid != os.getpid():
                    _kill(proc.pid)
            except psutil.Error:
                continue
        Path(f"/tmp/tmux-{os.getuid()}/{self.socket}").unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _sessions(socket: str) -> set[str]:
    proc = subprocess.run(
        ["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "TMUX"},
    )
    return set(proc.stdout.split()) if proc.returncode == 0 else set()
