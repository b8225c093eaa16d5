"""``jarvis``: the command-line face over the engine.

Every reading command takes ``--json`` (stable schema, see README) and reconciles before it
answers. Exit codes: 0 ok, 1 the operation failed, 2 bad input or config, 3 unknown agent id,
130 interrupted. Textual is imported only by ``jarvis tui`` / ``jarvis demo``.

    parser.py        every command and its options
    help_text.py     the longer help texts: shared option help, the batch format, examples
    common.py        exit codes, CliError, opening the engine, JSON and Rich output
    agents.py        spawn, ls, show, logs, attach, send, fire, retry, rm
    self_report.py   heartbeat, report: what an agent runs about itself
    engine_stats.py  engine, stats, and an engine on demand for queued work
    orchestrate.py   spawn --batch, wait, note, notes, release, dispatch, mcp
    setup.py         init, doctor, tui, demo
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..engine.config import ConfigError, load_config
from ..engine.git.worktrees import WorktreeError
from ..engine.registry import RegistryError
from ..engine.supervisor import SupervisorError
from ..engine.tmux import TmuxError
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, CliError, emit_json
from .parser import Parser, build_parser, command, command_word, json_wanted


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    helping = "-h" in argv or "--help" in argv
    parser = build_parser(_default_agent(argv), None) if helping else build_parser(None, command_word(argv))
    try:
        args = parser.parse_args(argv)
        args.json = wants_json = json_wanted(parser, args)
    except SystemExit as exc:  # a usage error (argparse printed it), or --help / --version
        if (
            exc.code == EXIT_USAGE
            and Parser.last_error
            and "--json" in argv[: argv.index("--") if "--" in argv else None]
        ):
            emit_json({"error": Parser.last_error, "exit_code": EXIT_USAGE})
        raise
    if not getattr(args, "command", None):
        args.func = command("setup", "cmd_tui")
    try:
        code = int(args.func(args))
        _loop_on_demand(args)
        return code
    except ConfigError as exc:
        return _fail(exc.render(), EXIT_USAGE, wants_json)
    except (CliError, SupervisorError) as exc:
        code = exc.code if isinstance(exc, CliError) else exc.exit_code
        return _fail(f"jarvis: {exc}", code, wants_json)
    except (TmuxError, WorktreeError, RegistryError) as exc:
        return _fail(f"jarvis: {exc}", EXIT_FAILED, wants_json)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _loop_on_demand(args: argparse.Namespace) -> None:
    """After any command: if queued agents or policies need a loop and no live process holds
    the engine lease (a killed dashboard or engine), start the headless engine."""
    sup = getattr(args, "opened", None)
    if sup is None or args.command in ("engine", "tui", "demo", None) or os.environ.get("JARVIS_NO_ENGINE"):
        return
    from ..engine.headless import handoff

    try:
        handoff(sup)
    except Exception as exc:  # noqa: BLE001 - the command itself succeeded: say it, do not fail it
        print(f"jarvis: warning: could not start the engine ({exc}); run 'jarvis engine'", file=sys.stderr)


def _default_agent(argv: list[str]) -> str | None:
    """For ``--help`` only: the profile a spawn would get, if the config can be read."""
    config = None
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            config = argv[i + 1]
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
    try:
        return load_config(config, check_repo=False).default_profile
    except Exception:  # noqa: BLE001 - no config here, or a broken one: the help names the rule instead
        return None


def _fail(message: str, code: int, wants_json: bool) -> int:
    print(message, file=sys.stderr)
    if wants_json:
        emit_json({"error": message.removeprefix("jarvis: "), "exit_code": code})
    return code


__all__ = ["build_parser", "main"]
