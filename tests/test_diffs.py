"""The review screen's diff model (tui/patches.py, tui/diffs.py), and the marks in words: a real patch from a real repository parsed
into rows, matched with the engine's file list, coloured only where it is looked at."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_helpers import BRANCH, UTILS_TYPED, make_review_repo
from rich.text import Text

from jarvis_tui.describe import fact_rows, marks
from jarvis_tui.engine.git import review as git_review
from jarvis_tui.engine.models import Agent
from jarvis_tui.tui import patches
from jarvis_tui.tui.diffs import PLAIN, Kind
from jarvis_tui.tui.patches import parse


def reviewed(repo: Path) -> tuple[git_review.Review, str]:
    found = git_review.review(repo, "main", BRANCH)
    return found, git_review.patch(repo, found.target_tip, found.source)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_review_repo(tmp_path / "repo")


def test_every_kind_of_change_gets_its_file_header_and_rows(repo):
    found, patch = reviewed(repo)
    doc = parse(patch, found.files, head=[Text("2 commits ahead of main")])
    assert [f.path for f in doc.files] == [f.path for f in found.files]
    by_path = {f.path: f for f in doc.files}
    renamed = by_path["config/settings.toml"]
    assert renamed.label == "config/defaults.toml → config/settings.toml" and renamed.similarity.endswith("%")
    assert doc.rows[0].kind is Kind.HEAD and doc.rows[renamed.start].kind is Kind.FILE
    logo = by_path["logo.png"]
    assert [r.text for r in doc.rows[logo.start + 1 : logo.end]] == ["binary file: its contents are not shown"]
    gone = doc.view(by_path["obsolete.txt"].index)
    assert [r.kind for r in doc.rows[gone.start : gone.end]] == [Kind.FILE, Kind.HUNK, Kind.DEL]
    utils = by_path["utils.py"]
    rows = doc.rows[utils.start : utils.end]
    added = [r for r in rows if r.kind is Kind.ADD]
    assert len(added) == by_path["utils.py"].change.added
    # line numbers: a context row has both, an added one only the new side's
    first_hunk = next(r for r in rows if r.kind is Kind.HUNK)
    assert first_hunk.text.startswith("@@ -1,")
    signature = next(r for r in added if r.text.startswith("def slugify"))
    assert signature.new == UTILS_TYPED.splitlines().index("def slugify(text: str) -> str:") + 1
    context = next(r for r in rows if r.kind is Kind.CTX and r.text == "import os")
    assert (context.old, context.new) == (3, 5)  # two lines were added above it
    assert doc.stops(doc.view()) == sorted(doc.stops(doc.view()))


def test_a_row_is_coloured_by_its_language_and_the_diff(repo):
    found, patch = reviewed(repo)
    doc = parse(patch, found.files)
    utils = next(f for f in doc.files if f.path == "utils.py")
    index = next(
        i
        for i in range(utils.start, utils.end)
        if doc.rows[i].kind is Kind.ADD and doc.rows[i].text.startswith("def slugify")
    )
    text, fill = doc.line(index, PLAIN)
    assert fill == PLAIN.added
    assert "+def slugify(text: str) -> str:" in text.plain
    assert any(span.style for span in text.spans if text.plain[span.start : span.end].strip() == "def"), (
        "the keyword has a syntax colour"
    )
    header, header_fill = doc.line(utils.start, PLAIN)
    assert header.plain.startswith(" M  utils.py") and header_fill == PLAIN.file


def test_only_the_rows_looked_at_are_made(tmp_path):
    repo = make_review_repo(tmp_path / "repo", big=10_000)
    found, patch = reviewed(repo)
    doc = parse(patch, found.files)
    big = next(f for f in doc.files if f.path == "generated.py")
    assert big.end - big.start > 10_000
    assert doc.made == 0 and doc.lexed == 0  # parsing colours nothing
    for index in range(big.end - 40, big.end):
        doc.line(index, PLAIN)
    assert doc.made == 40 and doc.lexed == 1  # one block of the hunk, not the 10,000 rows


def test_huge_files_are_cut_and_say_how_to_see_them_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(patches, "MAX_FILE_ROWS", 100)
    repo = make_review_repo(tmp_path / "repo", big=500)
    found, patch = reviewed(repo)
    doc = parse(patch, found.files, whole="the whole patch: jarvis review e5f6a7 --diff")
    big = next(f for f in doc.files if f.path == "generated.py")
    assert big.cut > 0 and big.end - big.start < 110
    note = doc.rows[big.end - 1]
    assert note.kind is Kind.NOTE and "more lines of this file not shown" in note.text
    assert "jarvis review e5f6a7 --diff" in note.text
    assert next(f for f in doc.files if f.path == "utils.py").cut == 0  # other files keep their share


def test_control_characters_never_reach_the_terminal():
    patch = (
        "diff --git a/x.txt b/x.txt\nindex 1..2 100644\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n"
        "-old\n+\x1b[31mred\x1b[0m\tand a tab\r\n"
    )
    doc = parse(patch, [])
    added = next(r for r in doc.rows if r.kind is Kind.ADD)
    assert "\x1b" not in added.text and "\t" not in added.text and "\r" not in added.text
    assert added.text.startswith("␛[31mred")
    assert doc.files[0].path == "x.txt"


def test_show_and_the_detail_view_say_the_marks_in_words():
    agent = Agent(
        id="ab12cd",
        task_id="ab12cd",
        title="t",
        prompt="p",
        agent="demo",
        priority="medium",
        status="working",
        attempt=1,
        created_at=0.0,
        overlaps=["cd34ef"],
        out_of_scope=["a.py", "b.py"],
        scope=["src/**"],
        check_state="failed",
        check_exit=2,
    )
    rows = dict(fact_rows(agent, None, socket="s", now=10.0))
    assert rows["check"] == "failed (exit 2)" and rows["scope"] == "src/**"
    assert rows["overlaps"].startswith("cd34ef") and rows["out of scope"] == "a.py, b.py"
    assert marks(agent) == ["overlap", "scope", "failed"]
    agent.status = "done"  # the scan forgets ended agents: their overlaps are stale, not shown
    assert "overlaps" not in dict(fact_rows(agent, None, socket="s", now=10.0)) and marks(agent) == ["scope", "failed"]
