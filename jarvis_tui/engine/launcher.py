"""Runs INSIDE an agent's tmux pane: start the agent's argv, record its true exit code.

tmux 3.3 sometimes marks a pane dead without recording ``pane_dead_status`` (NOTES.md), so
the exit code is written to ``exit.json`` by the pane itself. The argv and the environment
come from a spec file written by the engine, never from tmux arguments, so a prompt reaches
the agent byte-identical.

Two stages, so that no Python process lives as long as the agent (a Python interpreter
costs ~6 MB of PSS per agent; a shell ~0.3 MB):

1. this program reads the spec, checks that the program exists (exit 127 with a clear
   note if not), and replaces itself with
2. a constant POSIX ``sh`` script that runs the agent as ``"$@"`` -- positional parameters,
   handed over exactly, never parsed by the shell -- then writes the exit code atomically.
   The script catches INT/TERM/QUIT with a no-op trap so that a signal sent to the pane's
   process group (ctrl-c when attached) or to the whole tree (a fire) reaches the agent and
   not the recorder. Caught traps are reset to the default in ``exec``'d programs, so the
   agent sees ordinary signal handling (ctrl-c interrupts it once, as usual). HUP is NOT
   caught: when the pane's terminal goes away (its session killed, the tmux server killed
   or crashed) the kernel hangs up the session leader, this script, and its death hangs up
   the agent in turn. A caught HUP would keep the script alive and leave the agent running
   with no terminal, an orphan (tests/test_launcher.py).

Deliberately import-light: it runs once per agent start.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

# $1: the exit file; the rest: the agent's argv, exactly.
WAITER = r"""exit_file=$1
shift
trap ':' INT TERM QUIT
"$@"
code=$?
printf '{"exit_code": %d, "note": ""}\n' "$code" > "$exit_file.tmp" && mv -f "$exit_file.tmp" "$exit_file"
printf '\r\n[jarvis] agent exited with code %d\r\n' "$code"
exit "$code"
"""
SHELL = "/bin/sh"


def write_exit(path: str, code: int | None, note: str = "") -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"exit_code": code, "ended_at": time.time(), "note": note}, fh)
    os.replace(tmp, path)


def find_program(name: str, env: dict[str, str], cwd: str) -> str | None:
    """Where the agent's program is (as ``execvp`` would find it), or None."""
    if "/" in name:
        path = name if os.path.isabs(name) else os.path.join(cwd, name)
        return path if os.access(path, os.X_OK) and not os.path.isdir(path) else None
    return shutil.which(name, path=env.get("PATH", os.defpath))


def main(argv: list[str] | None = None) -> int:  # returns only when the agent cannot start
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python launcher.py SPEC.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as fh:
        spec = json.load(fh)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(spec["env"])
    exit_file = spec["exit_file"]
    command = spec["argv"]
    if find_program(command[0], env, spec["cwd"]) is None:
        message = f"cannot start {command[0]!r}: not found (not on PATH, or not executable)"
        print(f"\r\n[jarvis] {message}", flush=True)
        write_exit(exit_file, 127, message)
        return 127
    os.chdir(spec["cwd"])
    sys.stdout.flush()
    os.execve(SHELL, ["sh", "-c", WAITER, "jarvis-agent", exit_file, *command], env)  # does not return


if __name__ == "__main__":
    sys.exit(main())
