"""Runs INSIDE an agent's tmux pane: start the agent's argv, record its true exit code.

tmux 3.3 sometimes marks a pane dead without recording ``pane_dead_status`` (NOTES.md), so
this wrapper writes the exit code to ``exit.json`` itself, atomically. The argv and the
environment come from a spec file written by the engine, never from tmux arguments or a
shell, so a prompt reaches the agent byte-identical.

Deliberately import-light: it runs once per agent start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def write_exit(path: str, code: int | None, note: str = "") -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"exit_code": code, "ended_at": time.time(), "note": note}, fh)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    child: subprocess.Popen[bytes] | None = None
    early: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if child is None:
            early.append(signum)  # stopped before the agent even started
            return
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass  # the agent already exited; its exit code is what we record

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # first thing: no default deaths
        signal.signal(sig, forward)
    if len(args) != 1:
        print("usage: python -m jarvis_tui.engine.launcher SPEC.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as fh:
        spec = json.load(fh)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(spec["env"])
    exit_file = spec["exit_file"]
    if early:
        code = 128 + early[0]
        write_exit(exit_file, code, f"stopped by {signal.Signals(early[0]).name} before the agent started")
        return code
    try:
        child = subprocess.Popen(spec["argv"], cwd=spec["cwd"], env=env)
    except OSError as exc:
        message = f"cannot start {spec['argv'][0]!r}: {exc.strerror or exc}"
        print(f"\r\n[jarvis] {message}", flush=True)
        write_exit(exit_file, 127, message)
        return 127
    if early:  # a signal raced the start: pass it on
        forward(early[0], None)
    code = child.wait()
    if code < 0:  # killed by a signal: report it the shell's way
        code = 128 - code
    write_exit(exit_file, code)
    print(f"\r\n[jarvis] agent exited with code {code}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
