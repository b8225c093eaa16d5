"""Config mistakes in words a person can act on: :class:`ConfigError` names the file, line and
column and quotes the offending line; :class:`Locator` finds where a key path stands in the
TOML text (tomllib reports positions only for syntax errors)."""

from __future__ import annotations

import re
from pathlib import Path


class ConfigError(Exception):
    """A configuration problem, located in its file where possible."""

    def __init__(
        self,
        message: str,
        path: Path | None = None,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.source_line = source_line
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if self.line is not None:
                where += f", line {self.line}"
                if self.column is not None:
                    where += f", column {self.column}"
            where += ": "
        text = f"config error: {where}{self.message}"
        if self.source_line is not None and self.line is not None:
            gutter = f"{self.line:>5} | "
            text += f"\n{gutter}{self.source_line}"
            if self.column is not None:
                text += "\n" + " " * (len(gutter) - 2) + "| " + " " * (self.column - 1) + "^"
        return text


class Locator:
    """Finds the line and column of a key path in TOML source (best effort, no parser)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(
        r"^(\s*)((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
        r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
    )

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.index: list[tuple[tuple[str, ...], int, int]] = []
        table: tuple[str, ...] = ()
        for number, line in enumerate(self.lines, start=1):
            header = self._HEADER.match(line)
            if header:
                table = self._split(header.group(1))
                self.index.append((table, number, line.index("[") + 1))
                continue
            found = self._KEY.match(line)
            if found:
                self.index.append((table + self._split(found.group(2)), number, len(found.group(1)) + 1))

    @staticmethod
    def _split(dotted: str) -> tuple[str, ...]:
        parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", dotted)
        return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)

    def find(self, path: tuple[str, ...]) -> tuple[int, int, str] | tuple[None, None, None]:
        for length in range(len(path), 0, -1):
            for key_path, line, col in self.index:
                if key_path == path[:length]:
                    return line, col, self.lines[line - 1]
        return None, None, None


__all__ = ["ConfigError", "Locator"]
