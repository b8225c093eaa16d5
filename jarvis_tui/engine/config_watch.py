"""Noticing that config.toml changed under a running loop (the dashboard's or ``jarvis engine``).

Each tick asks :meth:`ConfigWatch.apply`: one ``stat``; the file is read only when its
modification time or size moved (or when the user asks: the dashboard's ``ctrl+r``). A file
that no longer parses, or that moves what cannot move under running agents, is reported and
the last good config stays in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, ConfigError, load_config
from .errors import SupervisorError

if TYPE_CHECKING:
    from .supervisor import Supervisor


class ConfigWatch:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def poll(self, *, force: bool = False) -> tuple[Config | None, str] | None:
        """None if unchanged; else (the config read, "") or (None, why it was refused)."""
        stamp = self._stamp()
        if stamp == self.stamp and not force:
            return None
        self.stamp = stamp
        try:
            # No repository check: the repo cannot change under a running engine anyway
            # (Supervisor.reload refuses that), and the one in use was checked at start.
            return load_config(self.path, check_repo=False), ""
        except ConfigError as exc:  # short: it is a toast (the file's path is known, its line is not)
            where = f"line {exc.line}: " if exc.line else ""
            return None, f"{where}{exc.message}" + (f"  ({exc.source_line.strip()})" if exc.source_line else "")

    def apply(self, sup: Supervisor, *, force: bool = False) -> tuple[Config | None, str] | None:
        """Poll, and hand a changed config to ``sup``: None if unchanged, else what :meth:`poll`
        says, with (None, why) when the supervisor refused it."""
        change = self.poll(force=force)
        if change is None:
            return None
        config, error = change
        if config is not None:
            try:
                sup.reload(config)
            except SupervisorError as exc:
                return None, str(exc)
        return config, error


__all__ = ["ConfigWatch"]
