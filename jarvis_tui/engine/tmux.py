"""The tmux runner: every call goes to a private socket (``tmux -L NAME -f /dev/null``).

Rules learnt the hard way (../shared/NOTES.md):
- create + options + pipe-pane happen in ONE tmux invocation, so a fast command can neither
  take its session down before ``remain-on-exit`` is set nor print before the log is piped;
- polling is ONE ``list-panes -a`` call for every agent, never a call per pane;
- nothing the user typed (prompts, titles, answers) is ever a tmux argument: tmux parses a
  trailing ``;`` as a command separator. Agents get their argv from a spec file, and text
  sent to a pane goes through ``load-buffer`` on stdin.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FIELD_SEP = "\x1f"
_CAPTURE_MARK = "\x1ejarvis-capture:"
# Detaches from an agent session. In the root table (no prefix) of OUR server: when the user's
# own tmux wraps the dashboard, ctrl-b goes to THEIR tmux (ctrl-b d would detach their client),
# while ctrl-q passes through to ours. The server forgets bindings when its last session ends,
# so every session start (and every attach) binds it again.
DETACH_KEY = "C-q"


class TmuxError(Exception):
    pass


@dataclass(frozen=True)
class Pane:
    session: str
    pane_id: str
    pid: int | None
    dead: bool
    dead_status: int | None


def tmux_version() -> tuple[int, int] | None:
    exe = shutil.which("tmux")
    if exe is None:
        return None
    out = subprocess.run([exe, "-V"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


class Tmux:
    """Thin, explicit wrapper over the tmux binary, bound to one private socket."""

    def __init__(self, socket: str) -> None:
        if not socket or socket == "default":
            raise ValueError("jarvis never uses the default tmux server")
        self.socket = socket
        self.exe = shutil.which("tmux") or "tmux"
        # Never let an outer tmux (the user's) leak into our calls.
        self._env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}

    def base_argv(self) -> list[str]:
        return [self.exe, "-L", self.socket, "-f", "/dev/null"]

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 20.0
    ) -> subprocess.CompletedProcess[str]:
        argv = self.base_argv() + list(args)
        try:
            proc = subprocess.run(
                argv,
                input=input,
                capture_output=True,
                text=True,
                check=False,
                env=self._env,
                timeout=timeout,
                # stdin never a tty: tmux would take the pane owning that tty for "current".
                stdin=subprocess.DEVNULL if input is None else None,
            )
        except FileNotFoundError:
            raise TmuxError("tmux is not installed (apt-get install tmux)") from None
        except subprocess.TimeoutExpired:
            raise TmuxError(f"tmux {args[0] if args else ''} timed out after {timeout:.0f}s") from None
        if check and proc.returncode != 0:
            raise TmuxError(proc.stderr.strip() or f"tmux {' '.join(args[:1])} failed ({proc.returncode})")
        return proc

    # ------------------------------------------------------------------ sessions

    def start_session(
        self,
        name: str,
        cwd: Path,
        argv: list[str],
        log_path: Path,
        *,
        width: int = 200,
        height: int = 50,
        env: dict[str, str] | None = None,
        remain_on_exit: bool = True,
        label: str | None = None,
    ) -> tuple[str, int]:
        """Create a detached session running ``argv`` (exec'd directly, no shell).

        One invocation: new-session, remain-on-exit, the status line (``label``, by default the
        session's name, and how to detach) and the detach key, pipe-pane. Returns (pane_id, pane_pid).
        ``remain_on_exit=False`` (the headless engine): the session, and the server if it was the
        last one, goes away when the command exits.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
        args = [
            "new-session",
            "-d",
            "-P",
            "-F",
            f"#{{pane_id}}{FIELD_SEP}#{{pane_pid}}",
            "-s",
            name,
            "-x",
            str(width),
            "-y",
            str(height),
            "-c",
            str(cwd),
        ]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        args += argv
        # Explicit targets: called from inside a pane on this server (the headless engine, an
        # orchestrating agent running `jarvis spawn`), tmux would otherwise resolve "current"
        # to the CALLER's pane and re-point its pipe-pane and options.
        target = f"={name}:"
        args += [
            ";",
            "set-option",
            "-w",
            "-t",
            target,
            "remain-on-exit",
            "on" if remain_on_exit else "off",
            ";",
            *session_ui(target, label or f"{name} · ctrl-q detach"),
            ";",
            "pipe-pane",
            "-O",
            "-t",
            target,
            f"exec cat >> {shlex.quote(str(log_path))}",
        ]
        proc = self.run(*args)
        first = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else ""
        pane_id, _, pid = first.partition(FIELD_SEP)
        if not pane_id.startswith("%"):
            raise TmuxError(f"tmux did not report the new pane (got {proc.stdout!r})")
        return pane_id, int(pid)

    def list_panes(self) -> dict[str, Pane]:
        """Every pane on our server, keyed by session name: ONE tmux call. Empty if no server."""
        fmt = FIELD_SEP.join(["#{session_name}", "#{pane_id}", "#{pane_pid}", "#{pane_dead}", "#{pane_dead_status}"])
        proc = self.run("list-panes", "-a", "-F", fmt, check=False)
        if proc.returncode != 0:
            if _no_server(proc.stderr):
                return {}
            raise TmuxError(proc.stderr.strip() or "tmux list-panes failed")
        panes: dict[str, Pane] = {}
        for line in proc.stdout.splitlines():
            parts = line.split(FIELD_SEP)
            if len(parts) != 5:
                continue
            session, pane_id, pid, dead, dead_status = parts
            panes.setdefault(
                session,
                Pane(
                    session=session,
                    pane_id=pane_id,
                    pid=int(pid) if pid.isdigit() else None,
                    dead=dead == "1",
                    dead_status=int(dead_status) if dead_status.lstrip("-").isdigit() else None,
                ),
            )
        return panes

    def capture_many(self, pane_ids: list[str], *, escapes: bool = False) -> dict[str, str]:
        """The visible screen of several panes in ONE tmux call (a marker line between them)."""
        if not pane_ids:
            return {}
        args: list[str] = []
        for pane_id in pane_ids:
            if args:
                args.append(";")
            # #{pane_id}, not the literal id: display-message runs strftime over its text,
            # which turns a literal "%3" into " %3" (a field width), "%10" into "      %10".
            args += [
                "display-message",
                "-p",
                "-t",
                pane_id,
                f"{_CAPTURE_MARK}#{{pane_id}}",
                ";",
                "capture-pane",
                "-p",
                "-t",
                pane_id,
            ]
            if escapes:
                args.append("-e")
        proc = self.run(*args, check=False)
        screens: dict[str, str] = {}
        current: str | None = None
        lines: list[str] = []
        for line in proc.stdout.split("\n"):
            if line.startswith(_CAPTURE_MARK):
                if current is not None:
                    screens[current] = "\n".join(lines)
                current, lines = line[len(_CAPTURE_MARK) :], []
            else:
                lines.append(line)
        if current is not None:
            screens[current] = "\n".join(lines)
        return screens

    def capture(self, pane_id: str, *, escapes: bool = False, history: int = 0) -> str:
        args = ["capture-pane", "-p", "-t", pane_id]
        if escapes:
            args.append("-e")
        if history:
            args += ["-S", f"-{history}"]
        return self.run(*args).stdout

    def send_text(self, pane_id: str, text: str, *, enter: bool = True) -> None:
        """Type ``text`` into a pane byte-for-byte: via a buffer on stdin, never as an argument."""
        buffer = f"jarvis-send-{pane_id.lstrip('%')}"
        args: list[str] = []
        if text:  # tmux refuses to load an empty buffer; an empty answer is just Enter
            args = ["load-buffer", "-b", buffer, "-", ";", "paste-buffer", "-d", "-p", "-b", buffer, "-t", pane_id]
        if enter:
            args += ([";"] if args else []) + ["send-keys", "-t", pane_id, "Enter"]
        if args:
            self.run(*args, input=text if text else None)

    def kill_session(self, name: str) -> bool:
        proc = self.run("kill-session", "-t", f"={name}", check=False)
        return proc.returncode == 0

    def has_session(self, name: str) -> bool:
        return self.run("has-session", "-t", f"={name}", check=False).returncode == 0

    def sessions(self) -> list[str]:
        proc = self.run("list-sessions", "-F", "#{session_name}", check=False)
        if proc.returncode != 0:
            return []
        return [line for line in proc.stdout.splitlines() if line]

    @property
    def socket_path(self) -> Path:
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        return Path(base) / f"tmux-{os.getuid()}" / self.socket

    def kill_server(self) -> None:
        """Kill the server AND remove its socket file (tmux leaves it behind)."""
        self.run("kill-server", check=False)
        if not self.is_alive():
            self.socket_path.unlink(missing_ok=True)

    def is_alive(self) -> bool:
        return self.run("list-sessions", check=False).returncode == 0

    def attach_argv(self, name: str, *, status: str | None = None) -> list[str]:
        """The command that attaches a terminal to session ``name`` (exact match), first binding
        the detach key and, with ``status``, showing that text in the session's status line.

        Both are re-issued here because the session may predate them (an older jarvis started
        it) and because this is the moment the user needs them."""
        setup = (
            session_ui(f"={name}:", status) if status is not None else ["bind-key", "-n", DETACH_KEY, "detach-client"]
        )
        return self.base_argv() + setup + [";", "attach-session", "-t", f"={name}"]

    def attach_env(self) -> dict[str, str]:
        return dict(self._env)


def status_literal(text: str) -> str:
    """``text`` as it must be given to tmux to be SHOWN as typed in a status line.

    tmux runs status-left through strftime (``%d`` is the day: ``%`` becomes ``%%``) and then
    its format language (``#{...}``, styles ``#[...]``, and ``#(cmd)``, which RUNS a shell
    command: ``#`` becomes ``##``). Control characters go; a trailing ``;`` would end the tmux
    command it is an argument of, so it gets a space after it.
    """
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    clean = clean.replace("#", "##").replace("%", "%%")
    return clean + " " if clean.endswith(";") else clean


def session_ui(target: str, label: str) -> list[str]:
    """Chained tmux commands: a one-line status bar showing ``label`` (user text, escaped) and
    nothing else, and the detach key. ``target`` is ``=NAME:``. The window's name is never
    shown, so tmux is spared renaming it after the pane's running command (which it checks
    as the pane prints)."""
    options = (
        ("status", "on"),
        ("status-left", status_literal(label)),
        ("status-left-length", "300"),
        ("status-right", ""),
        ("status-style", "bg=blue,fg=white"),
    )
    window_options = (
        ("window-status-format", ""),
        ("window-status-current-format", ""),
        ("automatic-rename", "off"),
    )
    args: list[str] = []
    for name, value in options:
        args += ["set-option", "-t", target, name, value, ";"]
    for name, value in window_options:
        args += ["set-option", "-w", "-t", target, name, value, ";"]
    return args + ["bind-key", "-n", DETACH_KEY, "detach-client"]


def _no_server(stderr: str) -> bool:
    text = stderr.lower()
    # "server exited unexpectedly" / "no current target": asked while the server was shutting
    # down (killed, or its last session just ended)
    return any(
        sign in text
        for sign in (
            "no server running",
            "error connecting",
            "no such file",
            "server exited unexpectedly",
            "no current target",
        )
    )
