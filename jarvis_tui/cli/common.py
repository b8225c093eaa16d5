"""What every command shares: exit codes, the error type, opening the engine, JSON and Rich output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.config import load_config
from ..engine.supervisor import Supervisor

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def open_supervisor(args: argparse.Namespace) -> Supervisor:
    sup = Supervisor(load_config(getattr(args, "config", None)))
    args.opened = sup  # main() checks afterwards whether queued work needs an engine loop
    return sup


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def console() -> Console:
    from rich.console import Console

    # Piped output is not squeezed into 80 columns: scripts and `grep` get whole rows.
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 240)


def plain(text: object) -> str:
    """User and agent text inside Rich markup: escaped, so '[y/N]' shows and '[/x]' cannot crash."""
    from rich.markup import escape

    return escape(str(text))


def read_prompt(args: argparse.Namespace) -> str:
    if args.prompt_file and args.prompt is not None:
        raise CliError("give the prompt as an argument OR --prompt-file, not both", EXIT_USAGE)
    if args.prompt_file:
        source = args.prompt_file
        data = sys.stdin.buffer.read() if source == "-" else _read_file(source)
    elif args.prompt == "-":
        data = sys.stdin.buffer.read()
    elif args.prompt is not None:
        return str(args.prompt)
    else:
        raise CliError("no prompt: pass PROMPT, --prompt-file FILE, or '-' to read stdin", EXIT_USAGE)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"the prompt is not UTF-8 text ({exc.reason} at byte {exc.start})", EXIT_USAGE) from None


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read prompt file {path}: {exc.strerror}", EXIT_USAGE) from None
