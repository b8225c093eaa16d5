"""Log normalisation and incremental reading (pure logic on real files)."""

from __future__ import annotations

from jarvis_tui.engine.logs import LogTail, normalise_line, strip_ansi, tail


def test_carriage_return_redraws_like_a_terminal():
    assert normalise_line("progress 10%\rprogress 50%\rprogress 100%") == "progress 100%"
    assert normalise_line("abc\rX", keep_sgr=False) == "Xbc"
    assert normalise_line("\x1b[36m|\x1b[0m thinking\r\x1b[K\x1b[32mstep 1\x1b[0m") == "\x1b[32mstep 1\x1b[0m"
    assert normalise_line("12345\b\b\bxy") == "12xy5"


def test_escape_junk_is_removed_and_colours_kept_or_stripped():
    assert normalise_line("\x1b]0;window title\x07hello", keep_sgr=False) == "hello"
    assert normalise_line("\x1b[?25lhidden cursor\x1b[?25h") == "hidden cursor"
    coloured = normalise_line("\x1b[1mbold\x1b[0m and \x1b[31mred")
    assert coloured == "\x1b[1mbold\x1b[0m and \x1b[31mred\x1b[0m"  # a colour never bleeds on
    # erase-line keeps the cursor where it was, as a terminal does
    assert strip_ansi("\x1b[1mbold\x1b[0m\nnext \x1b[2Kline") == "bold\n     line"
    assert normalise_line("a\tb") == "a       b"
    assert normalise_line("plain text") == "plain text"


def test_logtail_reads_incrementally_and_holds_partial_lines(tmp_path):
    path = tmp_path / "output.log"
    path.write_bytes(b"")
    reader = LogTail(path, keep_sgr=False)
    assert reader.read() == []
    with path.open("ab") as fh:
        fh.write(b"first\r\nsec")
    assert reader.read() == ["first"]
    assert reader.partial == "sec"
    with path.open("ab") as fh:
        fh.write("ond \xe2\x9c".encode("latin-1"))  # half of a UTF-8 character
    assert reader.read() == []
    with path.open("ab") as fh:
        fh.write(b"\x93\r\nApply? [y/N] ")
    assert reader.read() == ["second ✓"]
    assert reader.partial == "Apply? [y/N]"
    offset = reader.offset
    assert reader.read() == [] and reader.offset == offset  # nothing read twice


def test_logtail_starts_over_when_the_file_is_truncated(tmp_path):
    path = tmp_path / "output.log"
    path.write_text("one\ntwo\n")
    reader = LogTail(path)
    assert reader.read() == ["one", "two"]
    path.write_text("new\n")
    assert reader.read() == ["new"]


def test_seek_tail_reads_only_the_end_of_a_big_log(tmp_path):
    path = tmp_path / "output.log"
    path.write_text("".join(f"line {i}\n" for i in range(200_000)))
    reader = LogTail(path)
    reader.seek_tail(10)
    assert reader.offset > path.stat().st_size - 200_000
    lines = reader.read()
    assert lines[-10:] == [f"line {i}" for i in range(199_990, 200_000)]
    assert all(line.startswith("line ") for line in lines)  # the first line is whole
    assert tail(path, 3) == ["line 199997", "line 199998", "line 199999"]
