"""The tests' own guard: no test reads or writes the real home (~/.claude, ~/.codex, …).

conftest.py gives the session a private HOME; these tests fail if that ever stops reaching
the processes that matter: the agents, whose tools would write their transcripts there, and
the engine, which reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import HOME_VARIABLES, PRIVATE_HOME, REAL_HOME

from jarvis_tui.engine import usage
from jarvis_tui.engine.models import WORKING


def test_the_session_has_a_private_home():
    assert Path(os.path.expanduser("~")) == PRIVATE_HOME != Path(REAL_HOME)
    for name, path in HOME_VARIABLES.items():
        assert os.environ[name] == str(path)
        assert Path(REAL_HOME) not in Path(path).parents or Path(REAL_HOME) == Path("/")


def test_an_agent_and_the_transcript_reader_see_only_the_private_home(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("stay a while #hang", agent="demo")
    running = jarvis_env.wait_status(sup, agent.id, WORKING)
    environ = dict(
        item.split("=", 1) for item in Path(f"/proc/{running.pid}/environ").read_text().split("\0") if "=" in item
    )
    for name, path in HOME_VARIABLES.items():
        assert environ.get(name) == str(path), name
    where = usage.where(sup, running, sup.config.profiles["demo"], now=0.0)
    for variable, default in (("CLAUDE_CONFIG_DIR", "~/.claude"), ("CODEX_HOME", "~/.codex"), ("GEMINI_CLI_HOME", "~")):
        assert PRIVATE_HOME in [where.home(variable, default), *where.home(variable, default).parents]
    jarvis_env.cli("fire", agent.id, "--reason", "dumb", check=True)
