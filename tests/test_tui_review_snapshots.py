"""Snapshots of the review screen and the merge dialog on fixed data: the snapshot agents of
tui_helpers, e5f6a7's branch made real in a scratch repository with fixed authors and dates
(so its shas are the same on every run), a fixed clock.

Regenerate with ``pytest tests/test_tui_review_snapshots.py --snapshot-update`` and LOOK at
the SVGs under tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from pathlib import Path

from review_helpers import git, make_review_repo
from textual.pilot import Pilot
from textual.widgets import Input
from tui_helpers import NOW, settle, snapshot_app, wait_until

from jarvis_tui.tui.app import JarvisApp
from jarvis_tui.tui.screens.merge import MergeScreen
from jarvis_tui.tui.screens.review import ReviewScreen


def review_app(root: Path, *, conflict: bool = False) -> JarvisApp:
    repo = make_review_repo(root / "repo")
    if conflict:  # main edits the file the agent deleted
        (repo / "obsolete.txt").write_text("somebody reads this after all\n")
        git(repo, "commit", "-q", "-am", "Keep the obsolete notes", at=NOW - 5_000)
    return snapshot_app(root)


async def open_review(pilot: Pilot) -> ReviewScreen:
    await settle(pilot, "e5f6a7")
    await pilot.press("v")
    app = pilot.app
    screen: ReviewScreen = await wait_until(
        pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loads and app.screen, what="the review"
    )
    await pilot.pause()
    return screen


async def open_merge(pilot: Pilot) -> MergeScreen:
    await pilot.press("M")
    app = pilot.app
    dialog: MergeScreen = await wait_until(
        pilot, lambda: isinstance(app.screen, MergeScreen) and app.screen.plan and app.screen, what="the dry run"
    )
    await pilot.pause()
    return dialog


def test_review_screen(snap_compare, tmp_path):
    """A Python file's diff: syntax colours, both line numbers, hunk headers, filled rows."""

    async def run_before(pilot: Pilot) -> None:
        await open_review(pilot)
        await pilot.press("j", "j", "j", "j", "j", "enter")  # utils.py, and into its diff
        await pilot.pause()

    assert snap_compare(review_app(tmp_path), terminal_size=(120, 35), run_before=run_before)


def test_review_screen_at_80x24(snap_compare, tmp_path):
    """The whole patch: its commits, then every file (a rename, a binary, a deletion)."""

    async def run_before(pilot: Pilot) -> None:
        await open_review(pilot)

    assert snap_compare(review_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_merge_dialog(snap_compare, tmp_path):
    """Squash chosen, a message typed: the dry run says what will change."""

    async def run_before(pilot: Pilot) -> None:
        await open_review(pilot)
        dialog = await open_merge(pilot)
        await pilot.press("2")
        await wait_until(
            pilot, lambda: dialog.plan.request.strategy == "squash" and not dialog.planning, what="the squash dry run"
        )
        dialog.query_one("#message", Input).value = "Type hints for utils"
        await pilot.pause()

    assert snap_compare(review_app(tmp_path), terminal_size=(100, 32), run_before=run_before)


def test_merge_dialog_with_a_conflict_at_80x24(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await open_review(pilot)
        await open_merge(pilot)

    assert snap_compare(review_app(tmp_path, conflict=True), terminal_size=(80, 24), run_before=run_before)


def marked_app(root: Path) -> JarvisApp:
    """The snapshot agents with marks: two editing the same files (one outside its scope),
    a check that passed and one that failed."""
    app = snapshot_app(root)
    update = app.sup.registry.update_attempt
    update("a1b2c3", overlaps=["b2c3d4"])
    update("b2c3d4", overlaps=["a1b2c3"], out_of_scope=["src/app.py"])
    update("e5f6a7", check_state="passed", check_exit=0)
    update("c3d4e5", check_state="failed", check_exit=1)
    return app


def test_main_screen_with_marks(snap_compare, tmp_path):
    """The ⚑ column: ↔ overlaps, ⚠ out of scope, ✓ ✗ the check; it comes before runtime."""
    assert snap_compare(marked_app(tmp_path), terminal_size=(120, 35), run_before=settle)


def test_main_screen_with_marks_at_80x24(snap_compare, tmp_path):
    assert snap_compare(marked_app(tmp_path), terminal_size=(80, 24), run_before=settle)
