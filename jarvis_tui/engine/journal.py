"""The engine's own log: every module's ``logging.getLogger("jarvis.<module>")`` writes to
``sessions/jarvis.log`` (rotating: 1 MiB, 3 old files kept), with the process id on every
line since the dashboard, CLI commands and the headless engine share the file.

Transitions (INFO), failed external calls (WARNING), policy decisions (INFO) and anything
unexpected (ERROR with the traceback) land here; nothing goes to the terminal, where it
would garble the dashboard. ``JARVIS_LOG_LEVEL=DEBUG`` shows compare-and-set races too.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

ROOT = logging.getLogger("jarvis")
ROOT.addHandler(logging.NullHandler())  # a library default: silent until configured
MAX_BYTES = 1024 * 1024
BACKUPS = 3
_lock = threading.Lock()


class _Handler(logging.FileHandler):
    """Appends to ``jarvis.log``, opened at the first line; a line that would take the file
    past ``MAX_BYTES`` first turns it into ``jarvis.log.1`` (``.1`` into ``.2``..., ``BACKUPS``
    kept). The standard library's ``RotatingFileHandler`` does the same, but importing
    ``logging.handlers`` (sockets, pickle, queues) cost every CLI command ~4 ms."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream is None:
                self.stream = self._open()
            self.stream.seek(0, os.SEEK_END)  # the dashboard, the engine and CLI commands all append
            if self.stream.tell() and self.stream.tell() + len(self.format(record)) + 1 > MAX_BYTES:
                self._rotate()
        except (OSError, ValueError):
            self.handleError(record)
            return
        super().emit(record)

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        for n in range(BACKUPS - 1, 0, -1):
            older = f"{self.baseFilename}.{n}"
            if os.path.exists(older):
                os.replace(older, f"{self.baseFilename}.{n + 1}")
        os.replace(self.baseFilename, f"{self.baseFilename}.1")
        self.stream = self._open()

    def handleError(self, record: logging.LogRecord) -> None:
        """The log is best effort: a full disk or a read-only folder must not break a command
        (or print "--- Logging error ---" over the dashboard); the registry reports those."""


_handler: _Handler | None = None


def configure(sessions_dir: Path) -> Path | None:
    """Send jarvis's log to ``sessions_dir/jarvis.log`` (one file per process at a time).

    Returns the path, or ``None`` when the folder cannot be written (the registry will say
    so more usefully than a logging error would).
    """
    global _handler
    path = sessions_dir / "jarvis.log"
    with _lock:
        if _handler is not None and Path(_handler.baseFilename) == path.absolute():
            return path
        try:
            handler = _Handler(path)
        except OSError:
            return None
        handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
        if _handler is not None:
            ROOT.removeHandler(_handler)
            _handler.close()
        _handler = handler
        ROOT.addHandler(handler)
        ROOT.setLevel(os.environ.get("JARVIS_LOG_LEVEL", "INFO").upper())
        ROOT.propagate = False  # never to the terminal (a stray line would garble the dashboard)
    return path


def close() -> None:
    global _handler
    with _lock:
        if _handler is not None:
            ROOT.removeHandler(_handler)
            _handler.close()
            _handler = None


__all__ = ["close", "configure"]
