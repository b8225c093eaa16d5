"""The main screen on fixed data (no tmux, no git): table, filter, sort, logs, grid, keys.

These use the deterministic state of the snapshot tests (tests/tui_helpers.py), so they are
fast and say exactly what is on screen.
"""

from __future__ import annotations

import threading
import time

import pytest
from rich.text import Text
from textual.content import Content
from textual.widgets import Footer, Static
from textual.widgets._toast import Toast
from tui_helpers import (
    NOW,
    SNAPSHOT_AGENTS,
    cell_text,
    rich_text,
    screen_lines,
    settle,
    shown,
    snapshot_app,
    wait_until,
)

from jarvis_tui.format import one_line
from jarvis_tui.tui.screens.detail import DetailScreen
from jarvis_tui.tui.widgets.agent_table import clip_middle, matches
from jarvis_tui.tui.widgets.grid import LogGrid
from jarvis_tui.tui.widgets.log_pane import LogPane

ALL = [f.id for f in SNAPSHOT_AGENTS]
BY_CREATION = [f.id for f in sorted(SNAPSHOT_AGENTS, key=lambda f: f.created)]


async def test_table_shows_every_column_from_the_tick(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(170, 40)) as pilot:
        await settle(pilot)
        assert shown(app) == BY_CREATION
        assert cell_text(app, "a1b2c3", "status") == "● working"
        assert cell_text(app, "a1b2c3", "runtime") == "12m"  # NOW - started (754 s), on the fixed clock
        assert cell_text(app, "a1b2c3", "output") == "3s"
        assert cell_text(app, "a1b2c3", "cpu") == "12%"
        assert cell_text(app, "a1b2c3", "rss") == "48.0M"
        assert cell_text(app, "a1b2c3", "ahead") == "3"
        assert cell_text(app, "b2c3d4", "ahead") == "2*"  # uncommitted work
        assert cell_text(app, "d4e5f6", "attempt") == "2"
        assert cell_text(app, "d4e5f6", "agent") == "claude"
        assert cell_text(app, "c3d4e5", "cpu") == "-"  # ended: no process tree
        assert cell_text(app, "a1b2c3", "cost") == "-"  # no transcript read yet
        assert cell_text(app, "a1b2c3", "branch") == "jarvis/write-the-release-notes-a1b2c3"
        assert app.gauge.zones() == ("safe", "warning")  # 47 % CPU, 72.5 % RAM against 60/80, 70/85
        assert app.gauge.tally["working"] == 1 and app.gauge.tally["waiting"] == 1


async def test_filter_by_text_or_status_and_sort(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"waiting")
        assert shown(app) == ["b2c3d4"]
        assert "filter: waiting" in str(app.table.border_title)
        await pilot.press("enter")  # keep the filter, back to the table
        assert app.focused is app.table and shown(app) == ["b2c3d4"]
        await pilot.press("slash", "ctrl+u", *"flaky")
        assert shown(app) == ["c3d4e5"]
        await pilot.press(*"zz")  # nothing matches: the empty screen says so, and how out
        assert shown(app) == [] and "Agents 0/" in str(app.table.border_title)
        assert str(app.log_pane.border_title) == "No agent matches “flakyzz”: esc clears the filter"
        await pilot.press("escape")  # clears it
        assert shown(app) == BY_CREATION and app.focused is app.table
        await pilot.press("o")  # sort by status: the agent asking a question comes first
        assert app.table.sort_by == "status" and shown(app)[0] == "b2c3d4"
        assert app.table.selected_id == "c3d4e5"  # the cursor stays on the same agent
        await pilot.press("o", "o", "o")  # ... runtime, output, cpu
        assert app.table.sort_by == "cpu" and shown(app)[0] == "a1b2c3"


def test_filter_words():
    agent = type("A", (), {})()
    for key, value in dict(
        id="a1b2c3",
        task_id="a1b2c3",
        title="Fix the flaky login test",
        agent="demo",
        branch="jarvis/fix",
        priority="high",
        status="failed",
        ticket="PROJ-7",
    ).items():
        setattr(agent, key, value)
    assert matches(agent, "flaky LOGIN")
    assert matches(agent, "proj-7")  # its ticket id too
    assert matches(agent, "failed") and not matches(agent, "done")
    assert matches(agent, "status:fail") and not matches(agent, "status:wait")
    assert not matches(agent, "flaky nope")
    assert clip_middle("jarvis/write-the-release-notes-a1b2c3", 20) == "jarvis/write…-a1b2c3"
    assert one_line("Fix  the\nflaky\tlogin test", 12) == "Fix the fla…"  # titles in tables, dialogs, notes
    assert one_line("short\n", 12) == "short"


async def test_log_follows_the_tail_until_the_user_scrolls_up(tmp_path):
    app = snapshot_app(tmp_path)
    log_file = app.sup.log_path("a1b2c3")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.log_pane
        with log_file.open("ab") as fh:
            fh.write(b"".join(b"\x1b[32mline %d\x1b[0m\r\n" % n for n in range(200)))
        await wait_until(pilot, lambda: pane.lines_written >= 205, what="200 more lines")
        log = pane.log
        await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y > 0, what="the view at the tail")
        assert log.following
        assert "\x1b" not in "".join(s.text for s in log.lines)
        log.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert not log.following
        with log_file.open("ab") as fh:
            fh.write(b"one\r\ntwo\r\n")
        await wait_until(pilot, lambda: pane.new_lines == 2, what="the new-lines marker")
        assert log.scroll_y == 0  # did not jump away from what the user reads
        assert "2 new lines" in str(pane.query_one(".marker").render())
        log.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: pane.new_lines == 0, what="following again")
        assert log.following


async def test_a_printing_agent_is_redrawn_twice_a_second_and_a_silence_broken_at_once(tmp_path):
    """A followed log is looked at every 0.25 s; while its agent keeps printing, it is read and
    redrawn every 0.5 s (each redraw moves every line on screen), and the first line after a
    silence is read at the next look."""
    app = snapshot_app(tmp_path)
    log_file = app.sup.log_path("a1b2c3")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.log_pane
        stop = threading.Event()

        def printing() -> None:
            n = 0
            while not stop.is_set():
                with log_file.open("ab") as fh:
                    fh.write(b"line %d\r\n" % n)
                n += 1
                time.sleep(0.02)

        writer = threading.Thread(target=printing)
        writer.start()
        try:
            await wait_until(pilot, lambda: pane.lines_written > 0 and pane.read_at > 0, what="the stream")
            reads, start = pane.reads, time.monotonic()
            await pilot.pause(2.0)
            elapsed = time.monotonic() - start
        finally:
            stop.set()
            writer.join()
        assert pane.reads - reads <= elapsed / pane.stream_interval + 1, (pane.reads - reads, elapsed)
        await pilot.pause(pane.stream_interval + pane.interval * 2)  # the stream's last lines, then silence
        written, reads = pane.lines_written, pane.reads
        with log_file.open("ab") as fh:
            fh.write(b"after the silence\r\n")
        await wait_until(pilot, lambda: pane.lines_written == written + 1, timeout=3, what="the line after silence")
        assert pane.reads - reads <= 2  # read at the next look or the one after, not held back


async def test_a_flooding_agent_is_skipped_to_its_tail_and_the_pane_says_so(tmp_path):
    from jarvis_tui.tui.widgets.log_pane import FLOOD_BYTES, FLOOD_KEEP

    app = snapshot_app(tmp_path)
    log_file = app.sup.log_path("a1b2c3")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.log_pane
        before = pane.lines_written
        burst = 4 * FLOOD_BYTES // 30  # ~4x the flood threshold, written between two polls
        with log_file.open("ab") as fh:
            fh.write(b"".join(b"flood line %08d\r\n" % n for n in range(burst)) + b"the very last line\r\n")
        await wait_until(pilot, lambda: any("the very last line" in s.text for s in pane.log.lines), what="the tail")
        texts = [strip.text for strip in pane.log.lines]
        assert any("of new output: only its last" in t for t in texts), texts[-5:]
        # only the tail was rendered: bounded work, whatever the agent printed
        assert pane.lines_written - before <= FLOOD_KEEP + 2
        assert log_file.read_bytes().count(b"flood line") == burst  # nothing lost on disk


async def test_the_log_is_bounded_and_rendered_without_escape_junk(tmp_path):
    app = snapshot_app(tmp_path)
    log_file = app.sup.log_path("a1b2c3")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.log_pane
        lines = [strip.text for strip in pane.log.lines]
        # the \r spinner collapsed to what the terminal showed; OSC title and colours not as text
        assert lines[:3] == [
            "demo-agent a1b2c3: Write the release notes for 0.2",
            "step 1/8: edited notes/progress.md",
            "step 2/8: edited notes/progress.md",
        ]
        assert pane.partial == "- thinking about step 4"
        styled = [seg for strip in pane.log.lines for seg in strip if seg.style and seg.style.color]
        assert styled  # colours kept as styles
        with log_file.open("ab") as fh:
            fh.write(b"\r\n" + b"x\r\n" * (pane.max_lines + 500) + b"last\r\n")
        # more lines written than the pane keeps (each read is capped too): the bound is tested
        await wait_until(
            pilot,
            lambda: pane.lines_written > pane.max_lines and pane.log.lines and pane.log.lines[-1].text == "last",
            what="lots of lines, to the last one",
        )
        assert len(pane.log.lines) <= pane.max_lines


async def test_no_color_strips_colours_from_logs(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.no_color and not app.log_pane.tail.keep_sgr
        assert not [seg for strip in app.log_pane.log.lines for seg in strip if seg.style and seg.style.color]
        # waiting still stands out without colour
        assert "reverse" in str(app.table.get_cell("b2c3d4", "status").style)


async def test_grid_shows_up_to_six_titled_tails_and_only_visible_logs_read(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.log_pane.on_screen()
        await pilot.press("g")
        grid = app.query_one("#grid", LogGrid)
        await wait_until(pilot, lambda: len(grid.panes) == 6, what="six panes")
        assert not app.log_pane.on_screen()  # hidden: it reads nothing
        titles = {agent_id: str(pane.border_title) for agent_id, pane in grid.panes.items()}
        assert set(titles) == set(ALL)
        assert "a1b2c3" in titles["a1b2c3"] and "working" in titles["a1b2c3"]
        await wait_until(pilot, lambda: grid.panes["a1b2c3"].lines_written > 0, what="a grid tail")
        assert all(p.on_screen() for p in grid.panes.values())
        await pilot.press("g")
        assert app.log_pane.on_screen() and not any(p.on_screen() for p in grid.panes.values())


async def test_keys_are_in_the_footer_and_the_palette(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        footer_keys = {b.key: enabled for _, b, enabled, _ in app.screen.active_bindings.values() if b.show}
        assert {"n", "f", "s", "r", "a", "i", "g", "slash", "x", "q"} <= set(footer_keys)
        # a1b2c3 is working: the engine refuses retry, remove, merge and release for it (so the keys are dimmed)
        assert {key for key, enabled in footer_keys.items() if not enabled} == {"r", "R", "x", "M", "u"}
        assert app.query_one(Footer)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: len(app.screen_stack) == 2, what="the command palette")
        titles = [c.title for c in app.get_system_commands(app.screen_stack[0])]  # as the palette asks
        for word in (
            "Spawn",
            "Fire",
            "Retry",
            "fresh",
            "Send",
            "Attach",
            "Remove",
            "Details",
            "Diff",
            "Grid",
            "Filter",
            "Sort",
            "Metrics",
            "Review",
            "Merge",
            "checks",
            "Quit",
        ):
            assert any(word in t for t in titles), word


async def test_a_slow_action_keeps_the_screen_live(tmp_path):
    app = snapshot_app(tmp_path)
    release = threading.Event()
    entered = threading.Event()

    def slow_send(agent_id, text, enter=True):
        entered.set()
        release.wait(10)
        return app.sup.get(agent_id)

    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, select="b2c3d4")
        app.sup.send = slow_send  # type: ignore[method-assign]
        try:
            started = time.monotonic()  # (a send on the UI thread would hold these keys for 10 s)
            await pilot.press("s", "y", "enter")
            await wait_until(pilot, entered.is_set, what="the send worker")
            await pilot.press("slash", *"flaky")  # the UI answers while the engine call hangs
            assert shown(app) == ["c3d4e5"]
            assert time.monotonic() - started < 5
            assert [w.name for w in app.workers if w.group == "send" and w.is_running] == ["send_worker"]
        finally:
            release.set()
        await app.workers.wait_for_complete()


async def test_the_detail_view_shows_policy_decisions_and_reload_reads_the_agent_again(tmp_path):
    app = snapshot_app(tmp_path)
    reg = app.sup.registry
    reg.add_event("policy", "d4e5f6", "0a0b0c", now=NOW - 950, decision="retry", note="retry 2/3 in 20s (backoff)")
    reg.add_event("policy", "d4e5f6", "0a0b0c", now=NOW - 900, decision="fire", note="ran 90s > max_runtime 60s")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.table.select("d4e5f6")  # (no log of its own: settle waits for a1b2c3's)
        await pilot.press("i")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, DetailScreen) and app.screen.data is not None,
            what="the detail view, loaded",
        )
        detail = app.screen
        lines = [" ".join(line.split()) for line in rich_text(detail.overview(detail.data)).splitlines()]
        at = lines.index("Policy decisions")
        assert lines[at + 1 : at + 3] == [
            "15m50s ago d4e5f6 retry retry 2/3 in 20s (backoff)",
            "15m00s ago d4e5f6 fire ran 90s > max_runtime 60s",
        ]
        # the agent changes while the view is open (here: straight in the registry); r shows it
        reg.update_attempt("d4e5f6", summary="gave up on Bazel")
        await pilot.press("r")
        await wait_until(pilot, lambda: detail.agent.summary == "gave up on Bazel", what="the reloaded record")
        await wait_until(
            pilot,
            lambda: "gave up on Bazel" in rich_text(detail.query_one("#overview-body", Static).content),
            what="the summary on screen",
        )
        await pilot.press("escape")
        assert len(app.screen_stack) == 1


async def test_quit_says_agents_keep_running(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_value == (
        "2 agents still running on tmux socket jarvis-snapshot (1 queued: they start "
        "when an engine runs, e.g. this dashboard); reopen with `jarvis`, list with "
        "`jarvis ls`"
    )


async def test_user_text_with_markup_characters_is_shown_as_typed(tmp_path):
    app = snapshot_app(tmp_path)
    title = "Fix [bold]the[/] parser [/x] and $vars"
    with app.sup.registry.transaction() as conn:
        app.sup.registry.create_task(
            conn, task_id="abcdef", title=title, prompt="[y/N] $accent", priority="low", profile="demo", now=1.0
        )
        app.sup.registry.create_attempt(
            conn,
            attempt_id="abcdef",
            task_id="abcdef",
            attempt=1,
            profile="demo",
            status="failed",
            now=1.0,
            status_reason="asks: [y/N] [/]",
        )
        app.sup.registry.add_fire(conn, "abcdef", "dumb", "[/x] wrote [bold]this[/]", None, now=2.0)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        app.table.select("abcdef")
        await pilot.press("slash", *"[bold]")
        assert shown(app) == ["abcdef"]
        await pilot.press("enter", "g")
        grid = app.query_one("#grid", LogGrid)
        await wait_until(pilot, lambda: "abcdef" in grid.panes, what="its grid pane")
        assert cell_text(app, "abcdef", "title") == title
        assert title in Content.from_markup(str(app.log_pane.border_title)).plain
        assert title in Content.from_markup(str(grid.panes["abcdef"].border_title)).plain
        await pilot.press("g", "i")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, DetailScreen) and app.screen.data is not None,
            what="the detail view, loaded",
        )
        assert title in rich_text(app.screen.query_one("#detail-title", Static).content)
        overview = rich_text(app.screen.overview(app.screen.data))
        assert "[y/N] $accent" in overview and "[/x] wrote [bold]this[/]" in overview
        assert overview.count("asks: [y/N] [/]") == 2  # the reason row and the attempts table
        assert app.is_running


async def test_lines_arriving_in_the_log_do_not_lay_out_the_whole_screen(tmp_path):
    """A printing agent's lines change only the log's scrollable height: no screen layout per
    write (Textual's default), yet the scrollbar and the followed tail stay right."""
    app = snapshot_app(tmp_path)
    log_file = app.sup.log_path("a1b2c3")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane, log = app.log_pane, app.log_pane.log
        with log_file.open("ab") as fh:  # past the pane's height: its scrollbar appears
            fh.write(b"".join(b"first %d\r\n" % n for n in range(60)))
        await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y > 0, what="the tail")
        assert log.show_vertical_scrollbar
        layouts: list[int] = []
        real = app.screen._refresh_layout
        app.screen._refresh_layout = lambda *a, **k: layouts.append(1) or real(*a, **k)  # type: ignore[method-assign]
        for batch in range(5):  # five polls' worth of output
            written = pane.lines_written
            with log_file.open("ab") as fh:
                fh.write(b"".join(b"more %d.%d\r\n" % (batch, n) for n in range(3)))
            await wait_until(pilot, lambda w=written: pane.lines_written >= w + 3, what="the lines")
            await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y, what="followed")
        assert log.virtual_size.height == len(log.lines)
        assert log.vertical_scrollbar.window_virtual_size == len(log.lines)  # the scrollbar knows
        assert "more 4.2" in log.lines[-1].text
        assert len(layouts) <= 1, len(layouts)  # (Textual's default: one per write, 5 or more)


async def test_followed_lines_are_written_and_scrolled_to_in_one_frame(tmp_path):
    """A followed write scrolls at once, not after the next refresh: one frame per poll
    instead of two (half of the log pane's repaints with agents printing)."""
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane, log = app.log_pane, app.log_pane.log
        texts = [Text(f"line {n}") for n in range(80)]
        pane.on_log_pane_lines(LogPane.Lines(pane, pane.generation, texts, ""))
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y  # before any refresh ran
        await pilot.pause()
        assert "line 79" in log.lines[-1].text


async def test_the_log_renders_the_lines_it_shows_not_the_lines_it_holds(tmp_path):
    """600 lines at a poll (a flooding agent), or an agent with a long log: what is drawn is
    the pane's height, and the held lines are still all there to scroll back to."""
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane, log = app.log_pane, app.log_pane.log
        log.strips_rendered = 0
        held = log.line_count
        texts = [f"\x1b[32mline {n}\x1b[0m" if n % 2 else f"line {n}" for n in range(600)]
        pane.on_log_pane_lines(LogPane.Lines(pane, pane.generation, texts, ""))
        await pilot.pause()
        await pilot.pause()
        height = log.scrollable_content_region.height
        assert 0 < log.strips_rendered <= height + 2, (log.strips_rendered, height)  # (600 held)
        assert log.line_count == min(pane.max_lines, held + 600)
        log.scroll_to(y=0, animate=False, immediate=True)  # the top: drawn when seen
        await pilot.pause()
        assert log.strips_rendered <= 2 * height
        first = log.render_line(0)
        assert first.text.strip() and log.following is False
        assert log.render_line(0) is first  # a repaint without a scroll draws the same strips
        last, before = log.lines[-1], log.lines[-2]
        assert (last.text, before.text) == ("line 599", "line 598")
        assert [seg for seg in last if seg.style and seg.style.color]  # its colour kept
        assert not [seg for seg in before if seg.style and seg.style.color]


async def test_a_tick_that_changes_nothing_repaints_neither_the_table_nor_the_log(tmp_path):
    """Textual repaints a whole widget whenever its border title is set, even to the same
    text: the table's and the log pane's titles are set only when they change."""
    app = snapshot_app(tmp_path)  # a fixed clock and registry: ticks see the same world
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        repaints: list[str] = []
        for widget in (app.table, app.log_pane):
            real = widget.refresh
            widget.refresh = lambda *a, _w=widget, _r=real, **k: repaints.append(_w.id) or _r(*a, **k)  # type: ignore[method-assign]
        ticks = app.ticks
        for _ in range(2):
            app.start_tick()
            await wait_until(pilot, lambda t=ticks: app.ticks > t, what="a tick")
            ticks = app.ticks
        assert repaints == []


@pytest.mark.parametrize("width", [80, 200])
async def test_a_toast_shows_its_whole_message_at_80_columns_and_at_200(tmp_path, width):
    # Textual sized a toast of `max-width: 45%` one line short at 80 columns: the last line of
    # the message was cut off on screen (its own render still held it)
    message = "ab6612 retried as 576023 (attempt 3, from its files): working"
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(width, 24), notifications=True) as pilot:
        await settle(pilot)
        app.notify(message, title="retry")
        await wait_until(pilot, lambda: bool(app.screen.query(Toast)), what="the toast")
        await pilot.pause()
        (toast,) = app.screen.query(Toast)
        region = toast.region
        on_screen = [line[region.x : region.right] for line in screen_lines(app)[region.y : region.bottom]]
        drawn = " ".join(line.strip(" ▌") for line in on_screen)
        assert " ".join(drawn.split()) == f"retry {message}", on_screen
        assert region.width == (36 if width < 125 else 56)  # clear of the counts at the left
