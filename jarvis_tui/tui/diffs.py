"""The review screen's diff: a patch parsed into rows once (in a worker), coloured lazily.

Why lazily: splitting a 10,000-line patch into rows takes milliseconds, colouring it
(Pygments, then Rich Text) about a second of CPU. So :func:`parse`, run in a worker, only
records each row's kind, text and line numbers; :meth:`DiffDocument.line` makes the Rich
Text of ONE row when the diff pane shows it, and a row's syntax colours come from lexing
its block (up to ``BLOCK_ROWS`` rows of one hunk) the first time a row of it is shown. The
cost of showing a diff is bounded by the screen, not by the patch.

Caps bound memory and parsing: ``MAX_FILE_ROWS`` rows per file and ``MAX_ROWS`` in all;
what is cut is said in a note row, with the command that prints it whole.

No Textual here: the widget (widgets/diff_view.py) gives the styles and draws the rows.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from ..engine.git.review import FileChange

MAX_ROWS = 100_000  # rows of a whole patch (about 10 MB of Python objects)
MAX_FILE_ROWS = 20_000  # rows of one file: a generated file must not eat the others' share
BLOCK_ROWS = 200  # rows lexed together (the lexer's state does not cross a block)
MAX_BLOCK_CHARS = 60_000  # a block of minified lines is coloured as a diff only
CACHED_BLOCKS = 64
TAB = 4
STATUS_LETTER = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R", "copied": "C",
                 "type changed": "T"}
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Control characters would reach the terminal as escape codes: show them as symbols (␛).
_CONTROL = {c: 0x2400 + c for c in range(32) if c != 9} | {0x7F: 0x2421}


class Kind(Enum):
    HEAD = "head"  # a row above the files, made whole by the caller (commits, notes)
    FILE = "file"  # a file's header: status, path, +/-
    META = "meta"  # a mode change, "\ No newline at end of file"
    HUNK = "hunk"  # @@ -12,7 +12,9 @@ def context
    ADD = "add"
    DEL = "del"
    CTX = "ctx"
    NOTE = "note"  # a binary file, rows cut, nothing to show


CODE = frozenset({Kind.ADD, Kind.DEL, Kind.CTX})
SIGN = {Kind.ADD: "+", Kind.DEL: "-", Kind.CTX: " "}


@dataclass(slots=True)
class Row:
    kind: Kind
    text: str
    old: int | None = None
    new: int | None = None
    file: int = -1
    rich: Text | None = None  # HEAD rows


@dataclass
class FilePatch:
    index: int
    path: str
    change: FileChange | None
    start: int  # its header row
    end: int = 0  # one past its last row
    hunks: list[int] = field(default_factory=list)  # rows of its hunk headers
    digits: int = 1  # width of its line numbers
    similarity: str = ""  # a rename's "95%"
    cut: int = 0  # its lines not shown (caps)
    width: int = 0  # its widest row, in cells

    @property
    def label(self) -> str:
        change = self.change
        if change is not None and change.old_path:
            return f"{change.old_path} → {change.path}"
        return self.path


@dataclass(frozen=True)
class DiffStyles:
    """How rows look; the widget makes them from the theme (its component classes)."""

    added: Style
    removed: Style
    added_sign: Style
    removed_sign: Style
    hunk: Style
    file: Style
    gutter: Style
    meta: Style
    note: Style
    syntax_theme: str = "github-dark"


PLAIN = DiffStyles(  # without a theme (tests, a console)
    added=Style(bgcolor="#12361f"), removed=Style(bgcolor="#3d1418"), added_sign=Style(color="green", bold=True),
    removed_sign=Style(color="red", bold=True), hunk=Style(color="cyan"), file=Style(bold=True),
    gutter=Style(dim=True), meta=Style(dim=True, italic=True), note=Style(color="yellow", italic=True))


@dataclass(frozen=True)
class View:
    """The rows a diff pane shows: the whole patch, or one file's share of it."""

    start: int
    end: int
    title: str
    file: int | None = None  # None: the whole patch
    width: int = 0  # the widest row, in cells (horizontal scrolling)

    def __len__(self) -> int:
        return self.end - self.start


def clean(text: str) -> str:
    """A line as the terminal may show it: tabs expanded, control characters as symbols."""
    return text.rstrip("\r").expandtabs(TAB).translate(_CONTROL)


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


class DiffDocument:
    """Rows of a patch, the files they belong to, and their Rich Text on demand."""

    def __init__(self, rows: list[Row], files: list[FilePatch], width: int, total_lines: int) -> None:
        self.rows = rows
        self.files = files
        self.width = width  # the widest row of all, in cells
        self.total_lines = total_lines  # lines of the patch as git printed it
        self.made = 0  # rows turned into Text so far (tests: the work follows the screen)
        self.lexed = 0  # blocks lexed so far
        self._blocks: OrderedDict[int, list[Text]] = OrderedDict()  # first row -> its rows
        self._lexers: dict[str, Lexer | None] = {}
        self._styles: dict[_TokenType, Style] = {}
        self._theme = ""

    # ------------------------------------------------------------------ views

    def view(self, file: int | None = None) -> View:
        if file is None or not 0 <= file < len(self.files):
            return View(0, len(self.rows), "All files", None, self.width)
        patch = self.files[file]
        return View(patch.start, patch.end, patch.label, file, patch.width)

    def stops(self, view: View) -> list[int]:
        """Rows (relative to the view) where a file or a hunk starts: n / N jump between them."""
        found = []
        for patch in self.files:
            if patch.end <= view.start or patch.start >= view.end:
                continue
            for row in (patch.start, *patch.hunks):
                if view.start <= row < view.end and (row != patch.start or view.file is None):
                    found.append(row - view.start)
        return found

    # ------------------------------------------------------------------ one row

    def line(self, index: int, styles: DiffStyles) -> tuple[Text, Style | None]:
        """Row ``index`` as Text, and the style that fills the rest of its line (or None)."""
        self.made += 1
        row = self.rows[index]
        if row.kind is Kind.HEAD:
            return (row.rich or Text(row.text)), None
        if row.kind is Kind.FILE:
            return self._file_header(self.files[row.file], styles), styles.file
        if row.kind is Kind.HUNK:
            return Text(row.text, style=styles.hunk), styles.hunk
        if row.kind is Kind.META:
            return Text(row.text, style=styles.meta), None
        if row.kind is Kind.NOTE:
            return Text(row.text, style=styles.note), None
        patch = self.files[row.file]
        digits = patch.digits
        fill = styles.added if row.kind is Kind.ADD else styles.removed if row.kind is Kind.DEL else None
        sign_style = (styles.added_sign if row.kind is Kind.ADD else styles.removed_sign if row.kind is Kind.DEL
                      else styles.gutter)
        old = "" if row.old is None or row.kind is Kind.ADD else str(row.old)
        new = "" if row.new is None or row.kind is Kind.DEL else str(row.new)
        text = Text(style=fill or "", no_wrap=True, end="")
        text.append(f"{old:>{digits}} {new:>{digits}} ", styles.gutter)
        text.append(SIGN[row.kind], sign_style)
        text.append_text(self._code(index, styles))
        return text, fill

    def _file_header(self, patch: FilePatch, styles: DiffStyles) -> Text:
        change = patch.change
        status = str(change.status) if change is not None else "modified"
        letter = STATUS_LETTER.get(status, "?")
        colour = {"A": "green", "D": "red", "R": "cyan", "C": "cyan"}.get(letter, "yellow")
        text = Text(no_wrap=True, end="")
        text.append(f" {letter} ", Style(color=colour, bold=True, reverse=True))
        text.append(f" {patch.label}", Style(bold=True))
        if patch.similarity:
            text.append(f"  ({patch.similarity} similar)", Style(dim=True))
        if change is not None and change.binary:
            text.append("  binary", Style(dim=True))
        elif change is not None:
            text.append(f"  +{change.added}", Style(color="green"))
            text.append(f" -{change.deleted}", Style(color="red"))
        return text

    def _code(self, index: int, styles: DiffStyles) -> Text:
        """The row's code, coloured by its file's language (lexed a block at a time)."""
        row = self.rows[index]
        patch = self.files[row.file]
        at = bisect.bisect_right(patch.hunks, index)
        hunk = patch.hunks[at - 1] if at else patch.start
        hunk_end = patch.hunks[at] if at < len(patch.hunks) else patch.end
        start = hunk + 1 + (index - hunk - 1) // BLOCK_ROWS * BLOCK_ROWS
        if styles.syntax_theme != self._theme:  # the theme changed: colours made before are stale
            self._theme = styles.syntax_theme
            self._styles.clear()
            self._blocks.clear()
        block = self._blocks.get(start)
        if block is None:
            block = self._blocks[start] = self._lex(patch, start, min(start + BLOCK_ROWS, hunk_end))
            if len(self._blocks) > CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(start)
        return block[index - start].copy()

    def _lex(self, patch: FilePatch, start: int, end: int) -> list[Text]:
        self.lexed += 1
        rows = self.rows[start:end]
        plain = [Text(r.text, end="") for r in rows]
        code_at = [i for i, r in enumerate(rows) if r.kind in CODE]
        code = "\n".join(rows[i].text for i in code_at)
        lexer = self._lexer(patch.path)
        if lexer is None or len(code) > MAX_BLOCK_CHARS or not code_at:
            return plain
        parts = [(value, self._token_style(kind)) for kind, value in lexer.get_tokens(code)]
        lines = Text.assemble(*parts, end="").split("\n", allow_blank=True)
        if len(lines) != len(code_at):  # a lexer that changed the text: colour it as a diff only
            return plain
        for i, line in zip(code_at, lines, strict=True):
            line.end = ""
            plain[i] = line
        return plain

    def _lexer(self, path: str) -> Lexer | None:
        name = path.rsplit("/", 1)[-1]
        if name not in self._lexers:
            try:
                self._lexers[name] = get_lexer_for_filename(name, stripnl=False, ensurenl=False, stripall=False)
            except ClassNotFound:
                self._lexers[name] = None
        return self._lexers[name]

    def _token_style(self, kind: _TokenType) -> Style:
        style = self._styles.get(kind)
        if style is None:
            found = Syntax.get_theme(self._theme).get_style_for_token(kind)
            # the row's own background (added/removed) must show through
            style = self._styles[kind] = Style(color=found.color, bold=found.bold, italic=found.italic,
                                               underline=found.underline)
        return style


# --------------------------------------------------------------------------- parsing


def parse(patch: str, files: Sequence[FileChange], *, head: Sequence[Text] = (), whole: str = "") -> DiffDocument:
    """Rows of ``patch`` (``git diff -M``), each file's rows matched with its FileChange.

    ``head``: rows shown above the files in the whole-patch view (commits, notes).
    ``whole``: the command that prints the patch whole (said where rows are cut)."""
    rows: list[Row] = [Row(Kind.HEAD, t.plain, rich=t) for t in head]
    width = max((t.cell_len for t in head), default=0)
    chunks = _chunks(patch)
    total = patch.count("\n")
    matched = _match(chunks, files)
    out: list[FilePatch] = []
    for index, (chunk, change) in enumerate(matched):
        path = change.path if change is not None else _path_of(chunk)
        if index:  # a blank row between files (in no file's view)
            rows.append(Row(Kind.HEAD, ""))
        file = FilePatch(index, path, change, start=len(rows))
        rows.append(Row(Kind.FILE, file.label, file=index))
        file.width = _width(file.label) + 24
        if len(rows) >= MAX_ROWS:
            file.cut = len(chunk)
            rows.append(Row(Kind.NOTE, f"not shown: the patch is over {MAX_ROWS:,} lines; {whole}".rstrip("; "),
                            file=index))
            file.width = max(file.width, _width(rows[-1].text))
        else:
            file.width = max(file.width, _file_rows(chunk, file, rows, whole))
        width = max(width, file.width)
        file.end = len(rows)
        out.append(file)
    return DiffDocument(rows, out, width, total)


def _chunks(patch: str) -> list[list[str]]:
    chunks: list[list[str]] = []
    for line in patch.split("\n"):
        if line.startswith("diff --git ") or line.startswith("diff --cc "):
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
    if chunks and chunks[-1] and chunks[-1][-1] == "":  # the patch's final newline
        chunks[-1].pop()
    return chunks


def _path_of(chunk: list[str]) -> str:
    for line in chunk:
        if line.startswith("+++ ") and line != "+++ /dev/null":
            return line[4:].removeprefix("b/")
        if line.startswith("rename to "):
            return line[len("rename to "):]
    header = chunk[0] if chunk else ""
    return header.rsplit(" b/", 1)[-1] if " b/" in header else header.removeprefix("diff --git ")


def _match(chunks: list[list[str]], files: Sequence[FileChange]) -> list[tuple[list[str], FileChange | None]]:
    """Each chunk with its FileChange: both come from git in path order, so by position when
    the counts agree, else by the path in the chunk; a file git printed no chunk for still
    gets a header (and a note)."""
    if len(chunks) == len(files):
        return list(zip(chunks, files, strict=True))
    by_path = {f.path: f for f in files}
    out: list[tuple[list[str], FileChange | None]] = [(c, by_path.pop(_path_of(c), None)) for c in chunks]
    out += [([], f) for f in by_path.values()]
    return out


def _file_rows(chunk: list[str], file: FilePatch, rows: list[Row], whole: str) -> int:
    """Append one file's rows; returns the widest, in cells."""
    index = file.index
    width = 0
    shown = 0
    old = new = 0
    top = 0
    modes: list[str] = []
    in_hunk = False
    for line in chunk[1:]:
        if not in_hunk:
            if line.startswith("@@"):
                in_hunk = True
            else:
                if line.startswith("similarity index "):
                    file.similarity = line[len("similarity index "):]
                elif line.startswith(("old mode ", "new mode ")):
                    modes.append(line.split()[-1])
                elif line.startswith(("Binary files ", "GIT binary patch")):
                    rows.append(Row(Kind.NOTE, "binary file: its contents are not shown", file=index))
                continue
        if shown >= MAX_FILE_ROWS:
            file.cut += 1
            continue
        if line.startswith("@@"):
            match = _HUNK.match(line)
            if match:
                old, new = int(match.group(1)), int(match.group(3))
                top = max(top, old + int(match.group(2) or 1), new + int(match.group(4) or 1))
            file.hunks.append(len(rows))
            rows.append(Row(Kind.HUNK, clean(line), file=index))
        elif line.startswith("+"):
            rows.append(Row(Kind.ADD, clean(line[1:]), new=new, file=index))
            new += 1
        elif line.startswith("-"):
            rows.append(Row(Kind.DEL, clean(line[1:]), old=old, file=index))
            old += 1
        elif line.startswith(" "):
            rows.append(Row(Kind.CTX, clean(line[1:]), old=old, new=new, file=index))
            old += 1
            new += 1
        elif line.startswith("\\"):
            rows.append(Row(Kind.META, clean(line), file=index))
        else:
            continue
        shown += 1
        width = max(width, _width(rows[-1].text))
    file.digits = len(str(top)) if top else 1
    if modes:
        rows.insert(file.start + 1, Row(Kind.META, f"mode {' → '.join(modes)}", file=index))
        file.hunks = [h + 1 for h in file.hunks]
    if file.cut:
        rows.append(Row(Kind.NOTE, f"… {file.cut:,} more lines of this file not shown; {whole}".rstrip("; "),
                        file=index))
    if len(rows) == file.start + 1:
        what = "renamed only" if file.change is not None and file.change.old_path else "no lines changed"
        rows.append(Row(Kind.NOTE, f"{what}: nothing to show", file=index))
    others = max((_width(r.text) for r in rows[file.start + 1:] if r.kind not in CODE), default=0)
    return max(width + 2 * file.digits + 3, others)


__all__ = ["PLAIN", "DiffDocument", "DiffStyles", "FilePatch", "Kind", "Row", "View", "clean", "parse"]
