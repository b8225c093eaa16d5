"""Git's patch text into the rows of a :class:`~.diffs.DiffDocument` (run in a worker).

Only splitting and counting: each row's kind, text and line numbers, each file's rows and
hunks, matched with the engine's :class:`FileChange` list. Milliseconds for 10,000 lines;
the colours are made later, for the rows on screen (:mod:`.diffs`).

Caps bound memory and parsing: ``MAX_FILE_ROWS`` rows per file and ``MAX_ROWS`` in all;
what is cut is said in a note row, with the command that prints it whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text

from ..engine.git.review import FileChange
from .diffs import CODE, DiffDocument, FilePatch, Kind, Row, clean, text_width

MAX_ROWS = 100_000  # rows of a whole patch (about 10 MB of Python objects)
MAX_FILE_ROWS = 20_000  # rows of one file: a generated file must not eat the others' share
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


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
        file.width = text_width(file.label) + 24
        if len(rows) >= MAX_ROWS:
            file.cut = len(chunk)
            rows.append(
                Row(Kind.NOTE, f"not shown: the patch is over {MAX_ROWS:,} lines; {whole}".rstrip("; "), file=index)
            )
            file.width = max(file.width, text_width(rows[-1].text))
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
            return line[len("rename to ") :]
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
                    file.similarity = line[len("similarity index ") :]
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
        width = max(width, text_width(rows[-1].text))
    file.digits = len(str(top)) if top else 1
    if modes:
        rows.insert(file.start + 1, Row(Kind.META, f"mode {' → '.join(modes)}", file=index))
        file.hunks = [h + 1 for h in file.hunks]
    if file.cut:
        rows.append(
            Row(Kind.NOTE, f"… {file.cut:,} more lines of this file not shown; {whole}".rstrip("; "), file=index)
        )
    if len(rows) == file.start + 1:
        what = "renamed only" if file.change is not None and file.change.old_path else "no lines changed"
        rows.append(Row(Kind.NOTE, f"{what}: nothing to show", file=index))
    others = max((text_width(r.text) for r in rows[file.start + 1 :] if r.kind not in CODE), default=0)
    return max(width + 2 * file.digits + 3, others)


__all__ = ["MAX_FILE_ROWS", "MAX_ROWS", "parse"]
