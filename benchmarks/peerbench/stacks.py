"""The same talker agents under jarvis, pm2 and mprocs.

jarvis is driven only through its stable CLI (``spawn``, ``ls``, ``show``, ``engine``, the
dashboard, ``--config``), as the checkout this file lives in (``python -m jarvis_tui`` with the
checkout first on PYTHONPATH), in a temporary folder with its own state dir, scratch git repo
and private tmux socket. pm2 gets a private PM2_HOME; mprocs a generated config. Nothing is
ever installed: a peer that is not found is reported as "not installed".
"""

from __future__ import annotations

import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .janitor import RUN_ENV, Janitor
from .screen import Terminal

BENCH_DIR = Path(__file__).resolve().parents[1]
CHECKOUT = BENCH_DIR.parent
TALKER = str(BENCH_DIR / "talker.py")
PYTHON = sys.executable
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def is_talker(proc: procs.Proc) -> bool:
    return TALKER in proc.cmd


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env={**os.environ, **GIT_IDENTITY}
    ).stdout.strip()


def make_repo(path: Path, files: int = 1) -> Path:
    """A git repository with ``files`` small files spread over folders (a real checkout's shape)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# benchmark scratch repository\n")
    for i in range(files - 1):
        folder = path / f"pkg{i // 100:03d}" / f"mod{(i // 10) % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:05d}.py").write_text(f"# file {i}\n" + "def f():\n    return 42\n" * 8)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", f"{files} files")
    return path


# ------------------------------------------------------------------ finding the peers


@dataclass
class Peer:
    name: str
    path: str | None
    version: str = ""

    @property
    def installed(self) -> bool:
        return self.path is not None


def find_peer(name: str, peers_dir: str | None) -> Peer:
    """``--peers-dir`` / ``$JARVIS_BENCH_PEERS`` first (a folder, its bin/ or an npm prefix's
    node_modules/.bin), then PATH. mprocs from npm is a node wrapper around a native binary:
    the binary itself is used, so node's memory is not charged to mprocs."""
    path = None
    if peers_dir:
        for folder in (peers_dir, f"{peers_dir}/bin", f"{peers_dir}/node_modules/.bin"):
            candidate = Path(folder) / name
            if candidate.exists() and os.access(candidate, os.X_OK):
                path = str(candidate)
                break
    path = path or shutil.which(name)
    if path is None:
        return Peer(name, None)
    if name == "mprocs" and os.path.realpath(path).endswith(".js"):
        arch = "aarch64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
        native = glob.glob(os.path.join(os.path.dirname(os.path.realpath(path)), f"mprocs-*-linux-{arch}*", "mprocs"))
        path = native[0] if native else path
    return Peer(name, path, _version(name, path))


def _version(name: str, path: str) -> str:
    if name == "pm2":  # `pm2 --version` may start a daemon: read the package instead
        pkg = Path(os.path.realpath(path)).parents[1] / "package.json"
        try:
            return json.loads(pkg.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return "?"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.strip().split()[-1] if out.strip() else "?"


# ------------------------------------------------------------------ jarvis


JARVIS_CONFIG = """\
[supervisor]
repo = {repo}
state_dir = "state"
tmux_socket = "{socket}"
max_agents = 10000
kill_grace = 1

[resources]
# The benchmark loads the machine on purpose: the zones must not queue its agents.
cpu_safe = 1000
cpu_danger = 1000
ram_safe = 1000
ram_danger = 1000

[agents.talker]
command = ["python", {talker}, "tag=T{{id}}", "{{prompt}}"]
waiting_patterns = ["jarvis-bench-never-matches"]
waiting_after = 0
max_concurrent = 0
"""


def compile_checkout() -> None:
    """Byte-compile the checkout's package once, as ``pip install`` does: run from a checkout
    with ``PYTHONDONTWRITEBYTECODE`` set (or a read-only tree), every jarvis start would
    compile its modules again, which an installed jarvis never does."""
    import compileall

    compileall.compile_dir(str(CHECKOUT / "jarvis_tui"), quiet=1)


class JarvisStack:
    def __init__(self, janitor: Janitor, name: str, *, repo_files: int = 1, repo: Path | None = None) -> None:
        self.janitor = janitor
        self.root = janitor.tempdir(f"jb-{name}")
        self.socket = janitor.socket(f"jb-{name}-{janitor.run_id}")
        self.repo = repo or make_repo(self.root / "repo", repo_files)
        self.config = self.root / "config.toml"
        self.config.write_text(
            JARVIS_CONFIG.format(socket=self.socket, talker=json.dumps(TALKER), repo=json.dumps(str(self.repo)))
        )
        path = os.pathsep.join(filter(None, (str(CHECKOUT), os.environ.get("PYTHONPATH"))))
        self.env = janitor.env(PYTHONPATH=path, **GIT_IDENTITY)
        self.ids: list[str] = []
        self.engine: subprocess.Popen[bytes] | None = None

    def argv(self, *args: str) -> list[str]:
        """``jarvis [COMMAND] --config FILE [ARGS]``: --config before any ``--``."""
        return [PYTHON, "-m", "jarvis_tui", *args[:1], "--config", str(self.config), *args[1:]]

    def cli(self, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            self.argv(*args),
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"jarvis {' '.join(args[:2])} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
        return proc.stdout

    def spawn(self, spec: str) -> str:
        ident = json.loads(self.cli("spawn", "--agent", "talker", "--json", "--", spec))["id"]
        self.ids.append(ident)
        return ident

    def wait_working(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            agents = json.loads(self.cli("ls", "--json"))
            if sum(1 for a in agents if a["status"] == "working") >= len(self.ids):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"jarvis agents not all working: {[a['status'] for a in agents]}")
            time.sleep(0.5)

    def log_path(self, ident: str) -> Path:
        return Path(json.loads(self.cli("show", ident, "--json"))["log"])

    def tmux_pid(self) -> int | None:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "display-message", "-p", "#{pid}"],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
            check=False,
        )
        return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip().isdigit() else None

    def start_engine(self) -> int:
        log = open(self.root / "engine.out", "wb")  # noqa: SIM115 - lives as long as the engine
        self.engine = self.janitor.popen(
            self.argv("engine", "--idle-exit", "0"),
            env=self.env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self.engine.pid

    def stop_engine(self) -> None:
        if self.engine is not None and self.engine.poll() is None:
            self.engine.terminate()
            self.engine.wait(timeout=30)
        self.engine = None

    def stack(self, **roots: int | None) -> procs.Stack:
        """The tmux server (launchers, pipe helpers, any engine session) plus the given roots,
        e.g. ``dashboard=pid`` or ``engine=pid``; ``terminal=pid`` is measured outside the total."""
        terminal = roots.pop("terminal", None)
        named = {pid: label for label, pid in roots.items() if pid}
        if (tmux := self.tmux_pid()) is not None:
            named[tmux] = "tmux"
        return procs.Stack(named, is_talker, split_jarvis, {terminal: "terminal"} if terminal else {})


def split_jarvis(label: str, child: procs.Proc, has_agent: bool) -> str:
    """Children of jarvis's tmux server: a pane whose tree holds an agent is its launcher chain;
    the engine session is the engine; the rest are pipe-pane helpers (sh -c 'cat >> log')."""
    if label != "tmux":
        return f"{label} children"
    if has_agent:
        return "launchers"
    if "jarvis_tui" in child.cmd and " engine" in child.cmd:
        return "engine"
    return "pipes"


# ------------------------------------------------------------------ pm2


class Pm2Stack:
    def __init__(self, janitor: Janitor, peer: Peer, name: str) -> None:
        assert peer.path is not None
        self.pm2 = peer.path
        self.root = janitor.tempdir(f"pm2-{name}")
        self.home = self.root / "home"
        self.env = janitor.env(PM2_HOME=str(self.home))
        janitor.pm2_daemon(self.pm2, self.env)
        self.names: list[str] = []

    def start(self, specs: dict[str, str], *, autorestart: bool = True) -> None:
        apps = [
            {
                "name": name,
                "script": TALKER,
                "interpreter": PYTHON,
                "args": [f"tag=T{name}", *spec.split()],
                "autorestart": autorestart,
                "cwd": str(self.root),
            }
            for name, spec in specs.items()
        ]
        eco = self.root / "ecosystem.config.js"
        eco.write_text("module.exports = " + json.dumps({"apps": apps}, indent=1) + ";\n")
        proc = subprocess.run(
            [self.pm2, "start", str(eco)],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pm2 start failed: {proc.stderr.strip()[-500:]}")
        self.names += list(specs)

    def daemon_pid(self) -> int:
        return int((self.home / "pm2.pid").read_text().strip())

    def log_path(self, name: str) -> Path:
        return self.home / "logs" / f"{name}-out.log"

    def monit_argv(self) -> list[str]:
        return [self.pm2, "monit"]

    def stack(self, *, monit: int | None = None, terminal: int | None = None) -> procs.Stack:
        named = {self.daemon_pid(): "pm2 daemon"}
        if monit:
            named[monit] = "monit"
        return procs.Stack(named, is_talker, None, {terminal: "terminal"} if terminal else {})


# ------------------------------------------------------------------ mprocs


class MprocsStack:
    def __init__(self, janitor: Janitor, peer: Peer, name: str, specs: dict[str, str]) -> None:
        assert peer.path is not None
        self.root = janitor.tempdir(f"mprocs-{name}")
        self.names = list(specs)
        procs_cfg = {
            n: {"cmd": [PYTHON, TALKER, f"tag=T{n}", *spec.split()], "cwd": str(self.root)} for n, spec in specs.items()
        }
        self.config = self.root / "mprocs.yaml"
        self.config.write_text(json.dumps({"procs": procs_cfg}, indent=1))  # JSON is YAML
        self.argv = [peer.path, "--config", str(self.config)]

    def stack(self, pid: int, *, terminal: int | None = None) -> procs.Stack:
        return procs.Stack({pid: "mprocs"}, is_talker, None, {terminal: "terminal"} if terminal else {})


def talkers_running(count: int, run_id: str, timeout: float = 60) -> None:
    """Wait until ``count`` talkers of this run are alive (a stack is warm only then)."""
    deadline = time.monotonic() + timeout
    while True:
        tagged = set(procs.tagged(RUN_ENV, run_id))
        mine = [p for p in procs.snapshot().values() if is_talker(p) and p.pid in tagged]
        if len(mine) >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(mine)} of {count} agents started")
        time.sleep(0.3)


__all__ = [
    "PYTHON",
    "TALKER",
    "JarvisStack",
    "MprocsStack",
    "Peer",
    "Pm2Stack",
    "Terminal",
    "find_peer",
    "make_repo",
    "talkers_running",
]
