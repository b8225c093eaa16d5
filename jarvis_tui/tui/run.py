"""The dashboard's entry points: ``jarvis`` / ``jarvis tui``, ``jarvis demo``, and what happens
to the engine after the dashboard closes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..engine.config import load_config
from ..engine.supervisor import Supervisor
from .app import JarvisApp


def _cli_prefix(config_path: str | Path | None) -> str:
    return "jarvis" if config_path is None else f"jarvis --config {shlex.quote(str(config_path))}"


def close_engine(app: JarvisApp) -> str:
    """After the dashboard closed: give the engine lease up and, if queued agents or policies
    still need a loop, hand them to a headless ``jarvis engine`` (engine/headless.py)."""
    from ..engine.headless import ENGINE_SESSION, handoff

    try:
        app.close_loop()
        if handoff(app.sup):
            return (
                f"queued agents and policies carry on in a headless engine "
                f"(tmux -L {app.sup.tmux.socket} session {ENGINE_SESSION})"
            )
    except Exception as exc:  # noqa: BLE001 - never lose the goodbye over this
        return f"warning: could not hand over to a headless engine ({exc}); run `jarvis engine`"
    return ""


def run_dashboard(config_path: str | None) -> int:
    """``jarvis`` / ``jarvis tui``: open the dashboard on the configured state."""
    config = load_config(config_path)
    sup = Supervisor(config)
    try:
        app = JarvisApp(sup, cli=_cli_prefix(config_path))
        message = app.run()
        engine_note = close_engine(app)
    finally:
        sup.registry.close()
    for line in (message, engine_note):
        if line:
            print(line)
    return app.return_code or 0


def run_demo(keep: bool = False, no_tui: bool = False) -> int:
    """``jarvis demo``: a scratch repo, three demo agents, and the dashboard on them."""
    from .demo import create_demo, destroy_demo

    print("jarvis demo: making a scratch git repository and spawning three demo agents…", file=sys.stderr)
    demo = create_demo()
    cli = _cli_prefix(demo.config_path)
    if no_tui:
        print(demo.config_path)
        print(
            f"open the dashboard: {cli}\nclean up: tmux -L {demo.socket} kill-server; rm -rf {demo.root}",
            file=sys.stderr,
        )
        return 0
    code = 1
    message = ""
    try:
        sup = Supervisor(load_config(demo.config_path))
        try:
            note = None if keep else ""
            app = JarvisApp(sup, cli=cli, quit_note=note)
            message = app.run() or ""
            code = app.return_code or 0
            if keep:
                message = "\n".join(filter(None, (message, close_engine(app))))
        finally:
            sup.registry.close()
    finally:
        if keep:
            if message:
                print(message)
            print(f"demo kept in {demo.root}; stop it: tmux -L {demo.socket} kill-server")
        else:
            destroy_demo(demo)
            print(
                "demo over: its agents were stopped and its scratch folder deleted (`jarvis demo --keep` keeps them)."
            )
    return code
