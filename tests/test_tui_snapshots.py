"""Snapshots of the dashboard on fixed data: a fixed clock, fixed readings, fixed agents.

Regenerate with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and LOOK at the SVGs
under tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from tui_helpers import SNAPSHOT_LOGS, settle, snapshot_app, wait_until


def test_main_screen(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 35), run_before=settle)


def test_main_screen_at_80x24(snap_compare, tmp_path):
    """Designed for 80x24: columns dropped by priority (no sideways scroll), the header and
    the counts condensed, the footer's everyday keys only."""
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_main_screen_at_200x50(snap_compare, tmp_path):
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(200, 50), run_before=settle)


def test_a_toast_at_80x24_covers_no_log_and_no_count(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("x")  # a1b2c3 is working: refused, with a toast saying why
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_help_at_80x24(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_spawn_dialog(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("n", *"Fix")
        prompt = pilot.app.screen.query_one("#prompt", TextArea)
        prompt.insert(" the login bug\nKeep the diff small.")  # typing it key by key is slow
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_fire_dialog(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("f", "2", "tab", *"kept")
        pilot.app.screen.query_one("#note", Input).insert_text_at_cursor(" ignoring the spec")
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_grid(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("g")
        grid = pilot.app.query_one("#grid")
        await wait_until(
            pilot,
            lambda: (
                len(grid.panes) == 6
                and all(pane.lines_written for agent_id, pane in grid.panes.items() if agent_id in SNAPSHOT_LOGS)
            ),
            what="six panes and their logs",
        )
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 40), run_before=run_before)
