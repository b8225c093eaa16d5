"""``jarvis demo``: a scratch git repository, a config and three demo agents in a temp folder.

No LLM CLI needed: the agents are ``jarvis_tui.demo_agent`` with different behaviours, one
that finishes, one that asks a question and waits for the answer, one that fails. Everything
lives under one folder and one private tmux socket, so cleaning up is killing that server and
deleting that folder. (No Textual here: ``--no-tui`` and the tests use it headless.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..engine import git
from ..engine.config import ConfigError, load_config
from ..engine.config_text import set_value
from ..engine.init import default_config_text
from ..engine.models import Agent
from ..engine.resources import process_tree, tagged, terminate
from ..engine.supervisor import Supervisor
from ..engine.tmux import Tmux

IDENTITY = {
    "GIT_AUTHOR_NAME": "jarvis demo",
    "GIT_AUTHOR_EMAIL": "demo@jarvis.invalid",
    "GIT_COMMITTER_NAME": "jarvis demo",
    "GIT_COMMITTER_EMAIL": "demo@jarvis.invalid",
}
DEMO_SPEED = "0.5"  # steps per second: slow enough to watch the spinners and the question

AGENTS = (  # title, prompt
    ("Write the release notes", "Write the release notes for 0.2 #steps=8"),
    ("Refactor the config loader", "Refactor the config loader, then ask before applying #steps=3 #ask"),
    ("Fix the flaky login test", "Fix the flaky login test #steps=4 #exit=2"),
)

FILES = {
    "README.md": "# demo project\n\nA scratch repository made by `jarvis demo`.\n",
    "app.py": "def login(user, password):\n    return user == 'admin' and password == 'hunter2'\n",
    "config.py": "import json\n\n\ndef load(path):\n    with open(path) as fh:\n        return json.load(fh)\n",
    "tests/test_login.py": "from app import login\n\n\ndef test_login():\n    assert login('admin', 'hunter2')\n",
}


@dataclass
class Demo:
    root: Path
    config_path: Path
    socket: str
    agents: list[Agent]


def _git(repo: Path, *args: str) -> None:
    git.run(repo, *args, env=IDENTITY)


def make_repo(repo: Path) -> None:
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    for name, text in FILES.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "initial commit")


def demo_config_text(socket: str, speed: str = DEMO_SPEED) -> str:
    """The default config, pointed at the scratch folder, with watchable demo agents."""
    text = default_config_text()
    for table, key, value in (
        ("supervisor", "repo", "repo"),
        ("supervisor", "state_dir", "state"),
        ("supervisor", "tmux_socket", socket),
        ("agents.demo", "env", {"DEMO_SPEED": speed}),
        ("agents.demo", "waiting_after", 3600),
    ):
        text = set_value(text, table, key, value)
    return text


def create_demo(root: Path | None = None, *, socket: str | None = None, speed: str = DEMO_SPEED) -> Demo:
    """Make the scratch folder (a fresh temp dir unless ``root``) and spawn the three agents.

    If anything fails half-way, what was made is undone before the error goes up.
    """
    root = Path(tempfile.mkdtemp(prefix="jarvis-demo-")) if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    socket = socket or f"jarvis-demo-{os.getpid()}"
    config_path = root / "config.toml"
    demo = Demo(root=root, config_path=config_path, socket=socket, agents=[])
    try:
        make_repo(root / "repo")
        config_path.write_text(demo_config_text(socket, speed), encoding="utf-8")
        sup = Supervisor(load_config(config_path))
        try:
            for title, prompt in AGENTS:
                demo.agents.append(sup.spawn(prompt, agent="demo", title=title))
        finally:
            sup.registry.close()
    except BaseException:
        destroy_demo(demo)
        raise
    return demo


def destroy_demo(demo: Demo) -> None:
    """Stop every demo agent (whole process trees) and delete the scratch folder."""
    try:  # (edited into something unreadable during the demo: the server and folder still go)
        config = load_config(demo.config_path, check_repo=False) if demo.config_path.exists() else None
    except ConfigError:
        config = None
    if config is not None:
        sup = Supervisor(config)
        try:
            for agent in sup.agents(include_all=True):
                if agent.pid and agent.is_active:  # an ended agent's pid may belong to someone else now
                    procs = process_tree(agent.pid, agent.id)
                    if procs:
                        terminate(procs, 1.0)
        finally:
            sup.registry.close()
    Tmux(demo.socket).kill_server()
    # whatever still carries the demo's state dir in its environment (a pane's recorder that
    # outlived its server by a moment, a detached helper) goes too
    terminate(tagged("JARVIS_HOME", str((demo.root / "state").resolve())), 1.0)
    shutil.rmtree(demo.root, ignore_errors=True)
