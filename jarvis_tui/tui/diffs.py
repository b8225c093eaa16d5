"""The review screen's diff: a patch's rows (made by :mod:`.patches`, in a worker), and each
row's Rich Text made only when it is shown.

Why lazily: splitting a 10,000-line patch into rows takes milliseconds, colouring it
(Pygments, then Rich Text) about a second of CPU. :meth:`DiffDocument.line` makes the Text
of ONE row when the diff pane draws it, and a row's syntax colours come from lexing its
block (up to ``BLOCK_ROWS`` rows of one hunk) the first time a row of it is shown. The cost
of showing a diff is bounded by the screen, not by the patch.

No Textual here: the widget (widgets/diff_view.py) gives the styles and draws the rows.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
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

BLOCK_ROWS = 200  # rows lexed together (the lexer's state does not cross a block)
MAX_BLOCK_CHARS = 60_000  # a block of minified lines is coloured as a diff only
CACHED_BLOCKS = 64
TAB = 4
STATUS_LETTER = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R", "copied": "C", "type changed": "T"}
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
    added=Style(bgcolor="#12361f"),
    removed=Style(bgcolor="#3d1418"),
    added_sign=Style(color="green", bold=True),
    removed_sign=Style(color="red", bold=True),
    hunk=Style(color="cyan"),
    file=Style(bold=True),
    gutter=Style(dim=True),
    meta=Style(dim=True, italic=True),
    note=Style(color="yellow", italic=True),
)


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


def text_width(text: str) -> int:
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
        sign_style = (
            styles.added_sign
            if row.kind is Kind.ADD
            else styles.removed_sign
            if row.kind is Kind.DEL
            else styles.gutter
        )
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
            style = self._styles[kind] = Style(
                color=found.color, bold=found.bold, italic=found.italic, underline=found.underline
            )
        return style


__all__ = [
    "CODE",
    "PLAIN",
    "STATUS_LETTER",
    "DiffDocument",
    "DiffStyles",
    "FilePatch",
    "Kind",
    "Row",
    "View",
    "clean",
    "text_width",
]
