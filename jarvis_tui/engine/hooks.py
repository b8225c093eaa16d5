"""``[hooks] on_status_change``: a command run with one JSON event on its stdin.

Started and not waited for (never blocks a reconcile or the UI); its output goes to
``sessions/hooks.log``. The command is an argv list: no shell, no quoting surprises.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Agent


class HookRunner:
    def __init__(self, argv: tuple[str, ...], log_path: Path | None = None) -> None:
        self.argv = list(argv)
        self.log_path = log_path

    def status_changed(self, agent: "Agent", old: str, new: str, reason: str | None) -> None:
        if not self.argv:
            return
        event = {
            "id": agent.id,
            "task_id": agent.task_id,
            "title": agent.title,
            "agent": agent.agent,
            "old": old,
            "new": new,
            "reason": reason,
            "at": time.time(),
        }
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            # Not waited for: a CLI process may exit before the hook does; subprocess reaps later.
            proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=out, stderr=out,
                                    start_new_session=True)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(event).encode() + b"\n")
            proc.stdin.close()
        except OSError:
            pass
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
