"""Shared fixtures: a real git repo, a private tmux socket and a real registry per test.

``jarvis_env`` cleans up after itself (kills its tmux server, prunes worktrees) and then
FAILS the test if anything escaped: an agent process still alive (e.g. a setsid daemon
that fire should have killed), a tmux server still answering, a worktree outside the test's
folder. No test ever touches the user's default tmux server or ~/.tmux.conf.

No test reads or writes the real home either: the whole session (and every process it starts)
gets a private, empty HOME, and the agents' own folders (Claude Code's, Codex's, Gemini
CLI's) point inside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from jarvis_tui.engine.config import Config, load_config
from jarvis_tui.engine.models import Agent
from jarvis_tui.engine.supervisor import Supervisor
from jarvis_tui.engine.tmux import Tmux

REAL_HOME = os.path.expanduser("~")
PRIVATE_HOME = Path(tempfile.mkdtemp(prefix="jarvis-test-home-"))
HOME_VARIABLES = {
    "HOME": PRIVATE_HOME,
    "XDG_CONFIG_HOME": PRIVATE_HOME / ".config",
    "XDG_DATA_HOME": PRIVATE_HOME / ".local" / "share",
    "CLAUDE_CONFIG_DIR": PRIVATE_HOME / ".claude",
    "CODEX_HOME": PRIVATE_HOME / ".codex",
    "GEMINI_CLI_HOME": PRIVATE_HOME,
    "PM2_HOME": PRIVATE_HOME / ".pm2",
}
os.environ.update({name: str(path) for name, path in HOME_VARIABLES.items()})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(PRIVATE_HOME, ignore_errors=True)


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}

TEST_CONFIG = """\
[supervisor]
repo = "repo"
base = "HEAD"
state_dir = "state"
tmux_socket = "{socket}"
max_agents = {max_agents}
kill_grace = 1

[resources]
# Tests gate on capacity, not on how busy the CI machine happens to be.
cpu_safe = 1000
cpu_danger = 1000
ram_safe = 1000
ram_danger = 1000

[agents.demo]
command = ["python", "-m", "jarvis_tui.demo_agent", "{{prompt}}"]
waiting_patterns = ["\\\\[y/N\\\\]"]
waiting_after = 0
env = {{ DEMO_SPEED = "20" }}
max_concurrent = {max_concurrent}
{extra}
"""


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# scratch project\n")
    (path / "src.py").write_text("print('hello')\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial commit")
    return path


def agent_processes(state_dir: Path, config: Path | None = None) -> list[psutil.Process]:
    """Processes started for this test's agents (tagged by JARVIS_HOME in their environment)
    and, given ``config``, the jarvis commands the test ran with it (JARVIS_CONFIG)."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            env = proc.environ()
        except psutil.Error:
            continue
        if env.get("JARVIS_HOME") == str(state_dir) or (config is not None and env.get("JARVIS_CONFIG") == str(config)):
            found.append(proc)
    return found


class StartGate:
    """Holds every ``git worktree add`` in a test repository until opened: git runs the
    ``post-checkout`` hook inside it, so a start is really slow (a large repository) at a
    known step, with no test-only code in jarvis. Used as a context manager; always opens."""

    def __init__(self, repo: Path, root: Path) -> None:
        self.hook = repo / ".git" / "hooks" / "post-checkout"
        self.flag = root / "gate-open"
        self.entered = root / "gate-entered"

    def __enter__(self) -> StartGate:
        self.flag.unlink(missing_ok=True)
        self.entered.unlink(missing_ok=True)
        self.hook.parent.mkdir(parents=True, exist_ok=True)
        self.hook.write_text(f"#!/bin/sh\n: > '{self.entered}'\nwhile [ ! -e '{self.flag}' ]; do sleep 0.02; done\n")
        self.hook.chmod(0o755)
        return self

    def wait_entered(self, timeout: float = 20.0) -> None:
        """Block until a start is inside the gate."""
        deadline = time.monotonic() + timeout
        while not self.entered.exists():
            if time.monotonic() > deadline:
                raise AssertionError("no start reached the worktree gate")
            time.sleep(0.02)

    def open(self) -> None:
        self.flag.touch()

    def __exit__(self, *exc: object) -> None:
        self.open()
        self.hook.unlink(missing_ok=True)


@dataclass
class JarvisEnv:
    root: Path
    repo: Path
    config_path: Path
    socket: str
    state_dir: Path
    _sups: list[Supervisor] = field(default_factory=list)

    def write_config(self, *, max_agents: int = 5, max_concurrent: int = 0, extra: str = "") -> None:
        self.config_path.write_text(
            TEST_CONFIG.format(socket=self.socket, max_agents=max_agents, max_concurrent=max_concurrent, extra=extra)
        )

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def sup(self, **kwargs: Any) -> Supervisor:
        sup = Supervisor(self.config, **kwargs)
        self._sups.append(sup)
        return sup

    def start_gate(self) -> StartGate:
        return StartGate(self.repo, self.root)

    @property
    def tmux(self) -> Tmux:
        return Tmux(self.socket)

    def cli(
        self,
        *args: str,
        input: str | bytes | None = None,
        check: bool = False,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real CLI in a subprocess, as a user or an orchestrating agent would (``env``:
        variables of that shell only)."""
        env = {**self.cli_env(), **(env or {})}
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "jarvis_tui", *args],
            input=data,
            capture_output=True,
            env=env,
            cwd=self.root,
            timeout=timeout,
            check=False,
        )
        result = subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"jarvis {' '.join(args)} exited {proc.returncode}:\n{result.stderr}")
        return result

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "JARVIS_AGENT_ID")}
        env["JARVIS_CONFIG"] = str(self.config_path)
        return env

    def cli_bg(self, *args: str) -> subprocess.Popen[str]:
        """The real CLI in the background (to race it, or kill it)."""
        return subprocess.Popen(
            [sys.executable, "-m", "jarvis_tui", *args],
            env=self.cli_env(),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def crash(self, when: str, target: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``jarvis ARGS`` and SIGKILL it right ``when`` (before/after) ``target`` runs
        (tests/crashing.py); asserts that it really died there."""
        script = Path(__file__).with_name("crashing.py")
        proc = subprocess.run(
            [sys.executable, str(script), when, target, "--", *args],
            env=self.cli_env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == -9, f"expected a kill at {when} {target}, got {proc.returncode}:\n{proc.stderr}"
        return proc

    def wait_for(
        self,
        sup: Supervisor,
        agent_id: str,
        predicate: Callable[[Agent], bool],
        *,
        timeout: float = 30.0,
        what: str = "condition",
    ) -> Agent:
        """Reconcile until ``predicate(agent)`` holds (polling; never a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            sup.reconcile()
            agent = sup.registry.get(agent_id)
            if predicate(agent):
                return agent
            if time.monotonic() > deadline:
                log = sup.log_path(agent_id)
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
                raise AssertionError(
                    f"timed out waiting for {what}; agent is {agent.status} ({agent.status_reason})\nlog:\n{tail}"
                )
            time.sleep(0.1)

    def wait_status(self, sup: Supervisor, agent_id: str, *statuses: str, timeout: float = 30.0) -> Agent:
        return self.wait_for(
            sup, agent_id, lambda a: a.status in statuses, timeout=timeout, what=f"status in {statuses}"
        )

    def cleanup(self) -> list[str]:
        """Kill what the test left running and report whatever escaped."""
        problems: list[str] = []
        before = agent_processes(self.state_dir, self.config_path)
        tmux = self.tmux
        tmux.kill_server()
        gone, alive = psutil.wait_procs(before, timeout=5)
        del gone
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if alive:
            problems.append(
                "processes of this test survived its tmux server: "
                + ", ".join(f"{p.pid} {' '.join(p.cmdline())[:80]}" for p in alive)
            )
            for proc in alive:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        if tmux.is_alive():
            problems.append(f"tmux server {self.socket} still answers after kill-server")
        if tmux.socket_path.exists():
            problems.append(f"tmux socket file left behind: {tmux.socket_path}")
        for sup in self._sups:
            sup.registry.close()
        if self.repo.exists():
            listed = subprocess.run(
                ["git", "-C", str(self.repo), "worktree", "list", "--porcelain"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            for line in listed.splitlines():
                if line.startswith("worktree "):
                    path = Path(line[len("worktree ") :])
                    if path != self.repo and self.root not in path.parents:
                        problems.append(f"worktree outside the test folder: {path}")
        return problems


@pytest.fixture
def jarvis_env(tmp_path: Path) -> Iterator[JarvisEnv]:
    repo = make_repo(tmp_path / "repo")
    socket = f"jarvis-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = JarvisEnv(
        root=tmp_path,
        repo=repo,
        config_path=tmp_path / "config.toml",
        socket=socket,
        state_dir=(tmp_path / "state").resolve(),
    )
    env.write_config()
    yield env
    problems = env.cleanup()
    if problems:
        pytest.fail("leak check failed:\n- " + "\n- ".join(problems))
