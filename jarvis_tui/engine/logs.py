"""Agents' output logs: incremental reads and normalisation of the raw pty stream.

A log is what ``pipe-pane`` saw: ``\\r\\n`` line ends, ``\\r`` progress redraws, SGR colours,
OSC titles, cursor movement. :func:`normalise_line` plays each line on a one-line "terminal"
(``\\r`` returns to column 0, ``\\b`` steps back, ``ESC[K`` erases) and keeps only SGR colour
codes (or nothing, with ``keep_sgr=False``), so what reaches a widget is printable text that
``rich.Text.from_ansi`` renders without junk.

:class:`LogTail` reads a file from an offset in bounded chunks (``os.pread``), never
re-reading what it has seen; a partial last line is held back until its newline arrives.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

_ESCAPE = re.compile(
    r"""
    \x1b\[(?P<csi_params>[0-?]*)(?P<csi_inter>[ -/]*)(?P<csi_final>[@-~])   # CSI
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?                                     # OSC ... BEL/ST
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?                                          # DCS/SOS/PM/APC
    | \x1b[()*+][0-~]?                                                       # charset selects
    | \x1b[ -/]*[0-~]?                                                       # other ESC x
    """,
    re.VERBOSE,
)
_SIMPLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything that needs the slow path
CHUNK = 64 * 1024


_TOKEN = re.compile(_ESCAPE.pattern + r"| (?P<text>[^\x00-\x1f\x7f]+) | (?P<ctrl>[\x00-\x1f\x7f])", re.VERBOSE)


def normalise_line(raw: str, *, keep_sgr: bool = True) -> str:
    """One log line (without its ``\\n``) as it would look on a terminal."""
    if not _SIMPLE.search(raw):
        return (raw.expandtabs(8) if "\t" in raw else raw).rstrip(" ")
    cells: list[str] = []
    cursor = 0
    pending = ""  # SGR codes waiting to attach to the next printed character
    for match in _TOKEN.finditer(raw):
        text = match.group("text")
        if text is not None:  # a run of printable characters: one slice write
            chars = list(text)
            if pending:
                chars[0] = pending + chars[0]
                pending = ""
            if cursor > len(cells):
                cells.extend(" " * (cursor - len(cells)))
            cells[cursor : cursor + len(chars)] = chars
            cursor += len(chars)
            continue
        ctrl = match.group("ctrl")
        if ctrl is not None:
            if ctrl == "\r":
                cursor = 0
            elif ctrl == "\b":
                cursor = max(0, cursor - 1)
            elif ctrl == "\t":
                target = (cursor // 8 + 1) * 8
                while cursor < target:
                    _put(cells, cursor, " ")
                    cursor += 1
            continue
        final = match.group("csi_final")
        if final is None:
            continue  # OSC, DCS, charset and other escapes: dropped
        params = match.group("csi_params")
        if final == "m" and keep_sgr and not match.group("csi_inter"):
            pending += match.group(0)
        elif final == "K":
            mode = params or "0"
            if mode == "0":
                del cells[cursor:]
            elif mode == "1":
                for i in range(min(cursor + 1, len(cells))):
                    cells[i] = " "
            else:
                cells.clear()
        elif final in ("G", "C", "D"):
            count = int(params) if params.isdigit() else 1
            if final == "G":  # cursor to column N
                cursor = max(0, count - 1)
            elif final == "C":  # cursor forward
                cursor += count
            else:  # cursor back
                cursor = max(0, cursor - count)
    line = "".join(cells).rstrip(" ")
    if keep_sgr and "\x1b[" in line:
        line += "\x1b[0m"  # never let a colour bleed into the next line
    return line


def _put(cells: list[str], index: int, value: str) -> None:
    if index < len(cells):
        cells[index] = value
    else:
        cells.extend(" " * (index - len(cells)))
        cells.append(value)


def strip_ansi(text: str) -> str:
    return "\n".join(normalise_line(line, keep_sgr=False) for line in text.split("\n"))


class LogTail:
    """Follows one log file from an offset; bounded, incremental, restart-safe."""

    def __init__(self, path: Path, *, keep_sgr: bool = True) -> None:
        self.path = Path(path)
        self.keep_sgr = keep_sgr
        self.offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""

    @property
    def partial(self) -> str:
        """The line being written now (a prompt like ``Apply? [y/N]`` sits here)."""
        return normalise_line(self._partial.rstrip("\r"), keep_sgr=self.keep_sgr)

    def seek_tail(self, lines: int) -> None:
        """Start at least ``lines`` whole lines before the end instead of reading everything."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        start = size
        found = 0
        with open(self.path, "rb") as fh:
            while start > 0 and found <= lines:
                step = min(CHUNK, start)
                start -= step
                fh.seek(start)
                block = fh.read(step)
                found += block.count(b"\n")
            if start > 0:  # land just after a newline so the first line is whole
                fh.seek(start)
                newline = fh.read(CHUNK).find(b"\n")
                start += newline + 1 if newline >= 0 else 0
        self.offset = start
        self._partial = ""
        self._decoder.reset()

    def read(self, max_bytes: int = 4 * 1024 * 1024) -> list[str]:
        """New complete lines since the last call (normalised)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return []
        try:
            size = os.fstat(fd).st_size
            if size < self.offset:  # truncated or replaced: start over
                self.offset = 0
                self._partial = ""
                self._decoder.reset()
            chunks = []
            budget = max_bytes
            while self.offset < size and budget > 0:
                data = os.pread(fd, min(CHUNK, budget, size - self.offset), self.offset)
                if not data:
                    break
                self.offset += len(data)
                budget -= len(data)
                chunks.append(data)
        finally:
            os.close(fd)
        if not chunks:
            return []
        text = self._partial + self._decoder.decode(b"".join(chunks))
        pieces = text.split("\n")
        self._partial = pieces.pop()
        return [normalise_line(p.rstrip("\r"), keep_sgr=self.keep_sgr) for p in pieces]

    def backlog(self) -> int:
        """Bytes written to the log that this reader has not read yet."""
        try:
            return max(0, self.path.stat().st_size - self.offset)
        except FileNotFoundError:
            return 0

    @property
    def at_end(self) -> bool:
        try:
            return self.offset >= self.path.stat().st_size
        except FileNotFoundError:
            return True


def tail(path: Path, lines: int, *, keep_sgr: bool = False) -> list[str]:
    """The last ``lines`` lines of a log (plus the unfinished line, if any)."""
    reader = LogTail(path, keep_sgr=keep_sgr)
    reader.seek_tail(lines)
    out: list[str] = []
    while True:
        batch = reader.read()
        if not batch:
            break
        out.extend(batch)
    if reader.partial.strip():
        out.append(reader.partial)
    return out[-lines:] if lines else out
