"""``[hooks] on_status_change`` and ``on_budget``: a command run with one JSON event on its stdin.

Started and not waited for (never blocks a reconcile or the UI); its output goes to
``sessions/hooks.log``. The command is an argv list: no shell, no quoting surprises.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Agent

log = logging.getLogger("jarvis.hooks")


class HookRunner:
    def __init__(self, argv: tuple[str, ...], log_path: Path | None = None) -> None:
        self.argv = list(argv)
        self.log_path = log_path

    def status_changed(self, agent: Agent, old: str, new: str, reason: str | None) -> None:
        if not self.argv:
            return
        self.send(
            {
                "id": agent.id,
                "task_id": agent.task_id,
                "title": agent.title,
                "agent": agent.agent,
                "old": old,
                "new": new,
                "reason": reason,
                "at": time.time(),
            }
        )

    def send(self, event: dict[str, object]) -> None:
        """Start the hook with ``event`` as one JSON line on its stdin (not waited for)."""
        if not self.argv:
            return
        try:
            with contextlib.ExitStack() as stack:
                out: IO[bytes] | int = subprocess.DEVNULL
                if self.log_path is not None:
                    out = stack.enter_context(open(self.log_path, "ab"))
                # Not waited for: a CLI process may exit before the hook does; subprocess reaps later.
                proc = subprocess.Popen(
                    self.argv, stdin=subprocess.PIPE, stdout=out, stderr=out, start_new_session=True
                )
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(event, default=str).encode() + b"\n")
                proc.stdin.close()
        except OSError as exc:  # a missing hook program must not break the transition it reports
            log.warning("hook %s failed: %s", self.argv[0], exc)
