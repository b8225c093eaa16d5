"""Everything the benchmark starts, it stops: on success, on failure, on Ctrl-C or SIGTERM.

Every process the harness starts gets ``JARVIS_BENCH_RUN=<run id>`` in its environment (tmux
servers pass it on to their panes, the pm2 daemon to its apps, mprocs to its procs), so a final
sweep finds whatever slipped through -- an orphaned talker, a daemon that ignored ``pm2 kill`` --
by that tag alone, and never touches anyone else's processes (other pm2 daemons, the user's tmux).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import procs

RUN_ENV = "JARVIS_BENCH_RUN"
# Inherited variables that would point our children at someone else's server, config or agent.
SCRUB = ("TMUX", "TMUX_PANE", "JARVIS_CONFIG", "JARVIS_AGENT_ID", "JARVIS_HOME", "PM2_HOME", "JARVIS_NO_ENGINE")


def tmux_dir() -> Path:
    return Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"


class Janitor:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.sockets: list[str] = []
        self.popens: list[subprocess.Popen[bytes]] = []
        self.pm2: list[tuple[str, dict[str, str]]] = []  # (pm2 binary, env with its PM2_HOME)
        self.dirs: list[Path] = []
        self.kept: list[Path] = []  # folders shared by several scenarios: removed at the very end
        self._installed = False

    # ---------------------------------------------------------------- registration

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        env[RUN_ENV] = self.run_id
        env.update(extra)
        return env

    def socket(self, name: str) -> str:
        self.sockets.append(name)
        return name

    def tempdir(self, prefix: str, *, keep: bool = False) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}-{self.run_id}-"))
        (self.kept if keep else self.dirs).append(path)
        return path

    def popen(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, **kwargs)  # type: ignore[call-overload]
        self.popens.append(proc)
        return proc

    def pm2_daemon(self, pm2: str, env: dict[str, str]) -> None:
        self.pm2.append((pm2, env))

    def install(self) -> None:
        """Clean up at interpreter exit, and turn SIGTERM/SIGHUP into SystemExit so every
        ``finally`` runs (Ctrl-C already raises KeyboardInterrupt)."""
        if self._installed:
            return
        self._installed = True
        atexit.register(self.cleanup, final=True)

        def leave(signum: int, _frame: object) -> None:
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, leave)

    # ---------------------------------------------------------------- teardown

    def cleanup(self, *, final: bool = False) -> None:
        """Stop everything registered so far, then sweep the tagged strays. Idempotent.
        Kept folders go too when ``final``."""
        for pm2, env in reversed(self.pm2):
            _quiet([pm2, "kill"], env=env, timeout=30)
            pid_file = Path(env["PM2_HOME"]) / "pm2.pid"
            if pid_file.exists():
                _kill_pids([int(pid_file.read_text().strip() or 0)])
        self.pm2.clear()
        for name in reversed(self.sockets):
            _quiet(["tmux", "-L", name, "kill-server"], timeout=10)
        for proc in reversed(self.popens):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.popens.clear()
        self.sweep()
        for name in self.sockets:
            (tmux_dir() / name).unlink(missing_ok=True)
        self.sockets.clear()
        doomed = self.dirs + (self.kept if final else [])
        for path in reversed(doomed):
            shutil.rmtree(path, ignore_errors=True)
        self.dirs.clear()
        if final:
            self.kept.clear()

    def sweep(self) -> None:
        _kill_pids(procs.tagged(RUN_ENV, self.run_id))

    def leftovers(self) -> list[str]:
        """What is still running or lying around under this run's tag (for the final check)."""
        found = [f"process {pid}" for pid in procs.tagged(RUN_ENV, self.run_id)]
        found += [f"tmux socket {p}" for p in tmux_dir().glob(f"*{self.run_id}*")]
        found += [f"folder {p}" for p in Path(tempfile.gettempdir()).glob(f"*-{self.run_id}-*")]
        return found


def _quiet(argv: list[str], *, env: dict[str, str] | None = None, timeout: float) -> None:
    try:
        subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        pass


def _kill_pids(pids: list[int], grace: float = 3.0) -> None:
    pids = [p for p in pids if p > 0 and p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            if pids:
                time.sleep(0.05)
        if not pids:
            return


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == b"Z":
        try:  # our own zombie child: reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True
