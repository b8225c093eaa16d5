"""What every command shares: exit codes, the error type, opening the engine, JSON and Rich output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.config import load_config
from ..engine.models import Agent
from ..engine.supervisor import Supervisor, SupervisorError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TIMEOUT = 124  # jarvis wait, jarvis check --timeout: no result in time


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def open_supervisor(args: argparse.Namespace) -> Supervisor:
    sup = Supervisor(load_config(getattr(args, "config", None)))
    args.opened = sup  # main() checks afterwards whether queued work needs an engine loop
    return sup


def try_each(
    ids: Sequence[str],
    act: Callable[[str], Agent],
    *,
    done: str,
    record: Callable[[Agent], dict[str, object]],
    say: Callable[[Agent], str],
    as_json: bool,
) -> tuple[list[dict[str, object]], int]:
    """``act`` on every id, one refusal not stopping the rest: a line each (refusals on stderr)
    unless ``as_json``, a record each (a refusal's says ``done: false``), and the exit code:
    0, else the refusals' own code if they share one, else 1."""
    results: list[dict[str, object]] = []
    codes: list[int] = []
    for ident in ids:
        try:
            agent = act(ident)
        except SupervisorError as exc:
            codes.append(exc.exit_code)
            results.append({"id": ident, done: False, "error": str(exc), "exit_code": exc.exit_code})
            if not as_json:
                print(f"refused {ident}: {exc}", file=sys.stderr)
            continue
        results.append(record(agent))
        if not as_json:
            print(say(agent))
    if not codes:
        return results, EXIT_OK
    return results, codes[0] if len(set(codes)) == 1 else EXIT_FAILED


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
