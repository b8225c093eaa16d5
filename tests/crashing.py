"""Run one real ``jarvis`` command in this process and SIGKILL it at a chosen point.

    python tests/crashing.py before|after MODULE:QUALNAME[:EVENT] -- jarvis args...

The function ``QUALNAME`` of ``MODULE`` (``Class.method`` allowed) is wrapped so the process
kills itself with SIGKILL right before or right after it runs; with ``:EVENT`` only when
called for that lifecycle event (e.g. ``launched``). This is kill -9 at a precise step of a
real operation, with real tmux, git and SQLite, for the recovery tests.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(when: str, target: str) -> None:
    module_name, qualname, *rest = target.split(":")
    event = rest[0] if rest else None
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)

    def matches(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        return event is None or any(str(a) == event for a in (*args, *kwargs.values()))

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        hit = matches(args, kwargs)
        if hit and when == "before":
            die()
        result = real(*args, **kwargs)
        if hit and when == "after":
            die()
        return result

    setattr(owner, name, wrapper)


def main() -> int:
    when, target, dashdash, *argv = sys.argv[1:]
    assert when in ("before", "after") and dashdash == "--", sys.argv
    arm(when, target)
    from jarvis_tui.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
