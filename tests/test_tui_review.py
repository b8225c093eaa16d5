"""The dashboard's review, check and merge (issue 10), driven from the keyboard.

On fixed data (the snapshot agents, e5f6a7's branch made real in a scratch repository) for
the review screen and the merge dialog; on real demo agents in real tmux for conflicts and
the retry they offer, checks, and agents editing the same files.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from conftest import git
from review_helpers import BRANCH, make_review_repo
from textual.widgets import Checkbox, Input, Static
from tui_helpers import cell_text, make_app, rich_text, settle, snapshot_app, wait_until

from jarvis_tui.engine.models import DONE, MERGED, WORKING
from jarvis_tui.tui.app import JarvisApp
from jarvis_tui.tui.screens.confirm import ConfirmScreen
from jarvis_tui.tui.screens.detail import DetailScreen
from jarvis_tui.tui.screens.help import HelpScreen, keys_table
from jarvis_tui.tui.screens.main import MainScreen
from jarvis_tui.tui.screens.merge import MergeScreen
from jarvis_tui.tui.screens.review import ReviewScreen


def review_app(root: Path, *, big: int = 0) -> JarvisApp:
    make_review_repo(root / "repo", big=big)
    return snapshot_app(root)


async def open_review(pilot, agent_id: str = "e5f6a7") -> ReviewScreen:
    await settle(pilot, agent_id)
    await pilot.press("v")
    app = pilot.app
    screen = await wait_until(
        pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loads and app.screen, what="the review"
    )
    await pilot.pause()
    return screen


def shown(static: Static) -> str:
    return str(static.render())


async def open_merge(pilot) -> MergeScreen:
    await pilot.press("M")
    app = pilot.app
    return await wait_until(
        pilot,
        lambda: isinstance(app.screen, MergeScreen) and app.screen.plan is not None and app.screen,
        what="the merge dialog's dry run",
    )


async def test_the_review_lists_the_files_and_shows_each_ones_diff(tmp_path):
    app = review_app(tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await open_review(pilot)
        assert screen.error == "" and screen.built_in != threading.main_thread().name  # git and parsing: a worker
        head = shown(screen.query_one("#review-head", Static))
        assert "merges cleanly into main" in head and "not checked" in head and "2 commits, 5 files" in head
        files = screen.files
        prompts = [files.get_option_at_index(i).prompt.plain for i in range(files.option_count)]
        assert prompts[0].endswith("All files")
        assert "R config/{… → settings.toml}    +1 -1" in prompts  # a rename cut to fit: the new name whole
        assert any(p.startswith("M logo.png") and p.endswith("bin") for p in prompts)
        assert any(p.startswith("D obsolete.txt") for p in prompts)
        diff = screen.diff
        assert diff.shown.file is None and screen.document.rows[0].text == "2 commits ahead of main"
        await pilot.press("j")  # the first file
        assert diff.shown.file == 0 and str(diff.border_title) == screen.document.files[0].label
        await pilot.press("k", "enter")  # back to "All files", and into the diff
        assert diff.has_focus and diff.shown.file is None
        await pilot.press("n")
        assert diff.top in diff.stops  # the next file or hunk
        await pilot.press("right_square_bracket")  # the next file, from the diff
        assert diff.shown.file == 0 and diff.has_focus
        titles = [c.title for c in app.get_system_commands(screen)]  # the palette, on this screen
        assert {"Merge (M)", "Run the checks (c)", "Reload the review (r)"} <= set(titles), titles
        loads = screen.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.loads > loads, what="the reload")
        assert diff.shown.file == 0  # the cursor stayed on its file
        await pilot.press("escape")
        assert files.has_focus
        await pilot.press("tab")
        assert diff.has_focus
        await pilot.press("tab")
        assert files.has_focus
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_10000_line_diff_draws_only_what_is_on_screen(tmp_path):
    app = review_app(tmp_path, big=10_000)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot)
        document = screen.document
        big = next(f for f in document.files if f.path == "generated.py")
        assert big.end - big.start > 10_000
        screen.files.highlighted = big.index + 1
        await pilot.press("enter", "G")
        await pilot.pause()
        diff = screen.diff
        assert diff.top > 9_900 and "of 10,00" in str(diff.border_subtitle)
        # three screens were shown (the whole patch's top, the file's top, its end): rows were
        # made for those alone, and lexed a block at a time
        assert document.made <= 4 * diff.size.height, document.made
        assert document.lexed <= 6
        await pilot.resize_terminal(110, 32)  # the file list is made again for its width: the diff stays put
        await pilot.pause()
        assert diff.top > 9_900 and screen.files.highlighted == big.index + 1
        await pilot.press("g")
        assert diff.top == 0


async def test_merge_from_the_review_screen_with_squash_and_a_message(tmp_path):
    app = review_app(tmp_path)
    repo = tmp_path / "repo"
    async with app.run_test(size=(100, 34)) as pilot:
        screen = await open_review(pilot)
        dialog = await open_merge(pilot)
        assert "merges cleanly into main" in shown(dialog.query_one("#verdict", Static))
        plan = shown(dialog.query_one("#plan", Static))
        assert "main moves forward to its work (fast-forward): 6 files change" in plan
        assert "the checkout of main is updated" in plan and f"its branch {BRANCH} stays" in plan
        assert not dialog.query_one("#uncommitted", Checkbox).display  # it left nothing uncommitted
        assert git(repo, "rev-parse", "main") == git(repo, "rev-parse", "main@{0}")  # a dry run moved nothing
        before = git(repo, "rev-parse", "main")
        await pilot.press("2")  # squash
        await wait_until(
            pilot, lambda: dialog.plan.request.strategy == "squash" and not dialog.planning, what="the squash dry run"
        )
        assert "one squashed commit on main" in shown(dialog.query_one("#plan", Static))
        assert git(repo, "rev-parse", "main") == before
        dialog.query_one("#message", Input).focus()
        await pilot.press(*"Typed utils")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.agents["e5f6a7"].status == MERGED, what="the merge")
        assert git(repo, "log", "-1", "--format=%s", "main") == "Typed utils"
        assert (repo / "docs" / "typing.md").exists() and not (repo / "obsolete.txt").exists()
        assert "merged" in cell_text(app, "e5f6a7", "status")
        await wait_until(
            pilot,
            lambda: "merged into main" in shown(screen.query_one("#review-head", Static)),
            what="the review's title",
        )
        assert not screen.check_action("merge", ())  # merged: M is dimmed now


async def test_a_failed_agent_is_merged_only_when_confirmed(tmp_path):
    app = review_app(tmp_path)
    repo = tmp_path / "repo"
    git(repo, "branch", "jarvis/fix-the-flaky-login-test-c3d4e5", BRANCH)  # the failed snapshot agent's work
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot, "c3d4e5")
        assert app.main.check_action("merge", ())  # not dimmed: the dialog asks
        dialog = await open_merge(pilot)
        force = dialog.query_one("#force", Checkbox)
        assert force.display and "it ended failed" in str(force.label)
        assert 'tick "merge anyway"' in shown(dialog.query_one("#plan", Static))
        await pilot.press("enter")
        assert app.screen is dialog and force.has_focus  # refused inside the dialog
        await pilot.press("space")
        await wait_until(pilot, lambda: dialog.plan.request.force_ended and not dialog.planning, what="dry run")
        assert "fast-forward" in shown(dialog.query_one("#plan", Static))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.agents["c3d4e5"].status == MERGED, what="the forced merge")


async def test_keys_the_engine_refuses_are_dimmed_on_the_review_screen(tmp_path):
    app = review_app(tmp_path)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot, "a1b2c3")
        await pilot.press("v")  # a1b2c3 is working with a fake branch: the review says why it cannot
        screen = await wait_until(
            pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loads and app.screen, what="the review"
        )
        assert screen.error and screen.error in screen.diff.message
        assert not screen.check_action("merge", ())
        await pilot.press("M")
        assert isinstance(app.screen, ReviewScreen)
        assert any("only an ended agent can be merged" in n.message for n in app._notifications)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = rich_text(keys_table(), width=200)
        assert "Review screen (v)" in help_text and "Merge this work" in help_text and "next hunk" in help_text


# --------------------------------------------------------------------------- real agents


async def test_a_conflicting_merge_offers_the_retry_that_is_told_why(jarvis_env):
    sup = jarvis_env.sup()
    done = jarvis_env.wait_status(sup, sup.spawn("Write notes #steps=1", agent="demo").id, DONE)
    (jarvis_env.repo / "notes").mkdir()
    (jarvis_env.repo / "notes" / "progress.md").write_text("main's own notes\n")
    git(jarvis_env.repo, "add", ".")
    git(jarvis_env.repo, "commit", "-q", "-m", "main writes notes too")
    before = git(jarvis_env.repo, "rev-parse", "main")
    app = make_app(sup)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_until(pilot, lambda: done.id in app.agents, what="first tick")
        app.table.select(done.id)
        dialog = await open_merge(pilot)
        assert dialog.plan.conflicts == ["notes/progress.md"]
        assert "conflicts with main in notes/progress.md" in shown(dialog.query_one("#verdict", Static))
        await pilot.press("enter")
        question = await wait_until(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, what="the conflict"
        )
        assert "conflicts in:\n  notes/progress.md" in question.question and "Nothing was changed" in question.question
        assert git(jarvis_env.repo, "rev-parse", "main") == before
        await pilot.press("y")
        retried = await wait_until(
            pilot,
            lambda: next((a for a in app.agents.values() if a.task_id == done.task_id and a.attempt == 2), None),
            what="the retry",
        )
        assert "its merge was refused: merge into main: conflicts in notes/progress.md" in retried.retry_context
        await wait_until(pilot, lambda: app.agents[retried.id].status == DONE, what="the retry to finish")
        await app.workers.wait_for_complete()


async def test_checks_run_from_the_dashboard_and_mark_the_table(jarvis_env):
    check = [sys.executable, "-c", "import os, sys; sys.exit(0 if os.path.exists('untracked_work.txt') else 3)"]
    jarvis_env.write_config(extra=f"[review]\ncheck = {json.dumps(check)}\n")
    sup = jarvis_env.sup()
    good = jarvis_env.wait_status(sup, sup.spawn("work #steps=1 #dirty", agent="demo").id, DONE)
    bad = jarvis_env.wait_status(sup, sup.spawn("work #steps=1", agent="demo").id, DONE)
    app = make_app(sup)
    async with app.run_test(size=(110, 30), notifications=True) as pilot:
        await wait_until(pilot, lambda: {good.id, bad.id} <= app.agents.keys(), what="first tick")
        assert "marks" not in app.table.widths  # nothing to mark yet: no column
        for agent in (good, bad):
            app.table.select(agent.id)
            await pilot.press("c")
        await wait_until(
            pilot,
            lambda: app.agents[good.id].check_state == "passed" and app.agents[bad.id].check_state == "failed",
            what="both checks",
        )
        await wait_until(pilot, lambda: cell_text(app, bad.id, "marks") == "✗", what="the marks")
        assert cell_text(app, good.id, "marks") == "✓"
        await wait_until(
            pilot,
            lambda: any(
                n.message.startswith(f"check of {bad.id} failed (exit 3); its output: ") for n in app._notifications
            ),
            what="the failure said",
        )
        app.table.select(bad.id)
        await pilot.press("v")
        screen = await wait_until(
            pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loads and app.screen, what="the review"
        )
        assert "check ✗ failed (exit 3)" in shown(screen.query_one("#review-head", Static))
        await app.workers.wait_for_complete()


async def test_agents_editing_the_same_files_are_marked_and_detailed(jarvis_env):
    jarvis_env.write_config(extra="[review]\nscan_interval = 0.2\n")
    sup = jarvis_env.sup()
    first = sup.spawn("one #hang", agent="demo")
    second = sup.spawn("two #hang", agent="demo", scope=["src/**"])
    app = make_app(sup)
    async with app.run_test(size=(120, 34)) as pilot:
        await wait_until(
            pilot,
            lambda: all(app.agents.get(a.id) and app.agents[a.id].status == WORKING for a in (first, second)),
            what="both working",
        )
        await wait_until(
            pilot, lambda: cell_text(app, second.id, "marks") == "↔⚠", timeout=30, what="the overlap and scope marks"
        )
        assert cell_text(app, first.id, "marks").strip() == "↔"
        app.table.select(second.id)
        await pilot.press("i")
        detail = await wait_until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.data and app.screen, what="the details"
        )
        assert [row["agent"] for row in detail.data.shared] == [first.id]
        assert "notes/progress.md" in detail.data.shared[0]["paths"]
        text = rich_text(detail.overview(detail.data), width=200)
        assert "Same files as" in text and first.id in text and "notes/progress.md" in text
        assert "Outside its scope (src/**)" in text
        await pilot.press("escape")
        await app.workers.wait_for_complete()
