"""`jarvis demo`: a scratch repo, three demo agents (finishes, asks, fails), the dashboard on them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from conftest import agent_processes
from tui_helpers import make_app, status_of, wait_until

from jarvis_tui.engine.config import load_config
from jarvis_tui.engine.models import DONE, FAILED, WAITING
from jarvis_tui.engine.supervisor import Supervisor
from jarvis_tui.engine.tmux import Tmux
from jarvis_tui.tui.demo import AGENTS, Demo, create_demo, destroy_demo


async def test_demo_agents_finish_ask_and_fail_and_cleanup_removes_everything(tmp_path):
    demo = create_demo(tmp_path / "demo", socket=f"jarvis-demo-test-{uuid.uuid4().hex[:8]}", speed="20")
    state = (demo.root / "state").resolve()
    try:
        assert [a.title for a in demo.agents] == [title for title, _ in AGENTS]
        sup = Supervisor(load_config(demo.config_path))
        finisher, asker, failer = (a.id for a in demo.agents)
        app = make_app(sup)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(
                pilot,
                lambda: (
                    (status_of(app, finisher), status_of(app, asker), status_of(app, failer)) == (DONE, WAITING, FAILED)
                ),
                what="done, waiting and failed",
            )
        assert sup.get(failer).exit_code == 2
        sup.registry.close()
    finally:
        destroy_demo(demo)
    assert not demo.root.exists()
    assert not Tmux(demo.socket).is_alive()
    assert not [p for p in agent_processes(state) if p.is_running()]


def test_jarvis_demo_no_tui_prints_the_config_and_leaves_agents_running(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "JARVIS_CONFIG")}
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jarvis_tui", "demo", "--no-tui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out, err = proc.communicate(timeout=60)
    demo = None
    try:
        assert proc.returncode == 0, err
        config_path = Path(out.strip())
        config = load_config(config_path)
        demo = Demo(root=config_path.parent, config_path=config_path, socket=config.supervisor.tmux_socket, agents=[])
        assert config_path.parent.parent == tmp_path and config.supervisor.tmux_socket.startswith("jarvis-demo-")
        listed = subprocess.run(
            [sys.executable, "-m", "jarvis_tui", "--config", str(config_path), "ls", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        agents = json.loads(listed.stdout)
        assert sorted(a["title"] for a in agents) == sorted(title for title, _ in AGENTS)
        assert Tmux(demo.socket).is_alive()
    finally:
        if demo is not None:
            destroy_demo(demo)
        Tmux(f"jarvis-demo-{proc.pid}").kill_server()  # whatever it made, even if it failed half-way
    assert not config_path.parent.exists()


def test_the_demo_cleans_up_even_after_its_config_was_broken(tmp_path):
    demo = create_demo(tmp_path / "demo", socket=f"jarvis-demo-test-{uuid.uuid4().hex[:8]}", speed="20")
    state = (demo.root / "state").resolve()
    demo.config_path.write_text(demo.config_path.read_text().replace("max_agents = 5", "max_agents = 5,"))
    destroy_demo(demo)
    assert not demo.root.exists() and not Tmux(demo.socket).is_alive()
    assert not [p for p in agent_processes(state) if p.is_running()]
