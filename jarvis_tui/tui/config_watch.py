"""Noticing that config.toml changed under an open dashboard (no Textual here).

The poll worker asks :meth:`ConfigWatch.poll` every tick: one ``stat``; the file is read only
when its modification time or size moved (or when the user asks, ``ctrl+r``). A file that no
longer parses is reported and the last good config stays in use.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.config import Config, ConfigError, load_config


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
