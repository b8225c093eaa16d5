"""The dashboard's keys on fixed data (no tmux): the engine's rules behind every per-agent key,
the help screen, the footer at each width, sorting, the filter, following the log, queued
agents saying why, and config.toml read again while the dashboard is open."""

from __future__ import annotations

import os

from textual.widgets import HelpPanel, Static
from textual.widgets._footer import FooterKey
from tui_helpers import (
    NOW,
    FixedLoop,
    cell_text,
    rich_text,
    settle,
    shown,
    snapshot_app,
    wait_until,
)

from jarvis_tui.engine.lifecycle import Event, allowed, transition
from jarvis_tui.engine.models import QueueReason
from jarvis_tui.tui.actions import ACTIONS
from jarvis_tui.tui.screens.confirm import ConfirmScreen
from jarvis_tui.tui.screens.fire import FireScreen
from jarvis_tui.tui.screens.help import HelpScreen, key_names
from jarvis_tui.tui.widgets.agent_table import sort_value


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def footer_keys(app) -> list[str]:
    return [key.key for key in app.screen.query(FooterKey) if not key.has_class("-command-palette")]


async def test_keys_the_engine_refuses_are_dimmed_and_say_why(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        app.table.select("f6a7b8")  # queued: x would have passed it to an engine that refuses
        await pilot.pause()
        enabled = {b.key: on for _, b, on, _ in app.screen.active_bindings.values()}
        assert enabled["x"] is False and enabled["f"] is True and enabled["n"] is True
        await pilot.press("x")
        assert not isinstance(app.screen, ConfirmScreen)
        assert notes(app)[-1] == allowed(app.agents["f6a7b8"], "remove")
        assert "never ran" in notes(app)[-1]

        app.table.select("e5f6a7")  # done: f used to fire it
        await pilot.pause()
        await pilot.press("f")
        assert not isinstance(app.screen, FireScreen)
        assert notes(app)[-1] == "agent e5f6a7 is done: nothing is running to stop (retry or remove it)"
        fire = next(c for c in app.get_system_commands(app.screen) if c.title == "Fire (f)")
        fire.callback()  # the palette asks the same rules
        await pilot.pause()
        assert not isinstance(app.screen, FireScreen) and notes(app)[-1].startswith("agent e5f6a7 is done")

        app.table.select("d4e5f6")  # fired: its files are at the fire's ref, which the dialog names
        await pilot.pause()
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the remove dialog")
        question = str(app.screen.query_one(Static).render())
        assert "refs/jarvis/fired/d4e5f6" in question and "refs/jarvis/kept" not in question
        await pilot.press("n")

        app.table.select("f6a7b8")  # firing a queued agent says there was nothing to preserve
        await pilot.pause()
        await pilot.press("f", "3", "enter")
        await wait_until(pilot, lambda: app.agents["f6a7b8"].status == "fired", what="the queued agent fired")
        assert "fired f6a7b8 (dumb); it never started: nothing to preserve, no branch" in notes(app)


async def test_help_lists_every_key_and_esc_closes_it_and_the_keys_panel(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        text = " ".join(rich_text(app.screen.query_one("#keys", Static).content, width=200).split())
        for action in ACTIONS:  # every key, from the one table the bindings come from
            assert f"{key_names(action)} {' '.join(action.help.split())}" in text, action.keys
        assert "ctrl-q" in text  # and how to come back from an attached session
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen) and app.is_running
        await pilot.press("question_mark", "q")  # q closes it too, without quitting
        assert len(app.screen_stack) == 1 and app.is_running
        app.action_show_help_panel()  # the palette's "Keys" panel
        await pilot.pause()
        assert app.screen.query(HelpPanel)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query(HelpPanel) and app.is_running


async def test_footer_fits_the_width_and_keeps_the_everyday_keys(tmp_path):
    for width, wanted, left_out in (
        (80, "n f s r a i x slash question_mark q", "o m R g"),
        (120, "n f s r R a i x g slash o m question_mark q", ""),
    ):
        app = snapshot_app(tmp_path / str(width))
        async with app.run_test(size=(width, 30)) as pilot:
            await settle(pilot)
            keys = footer_keys(app)
            assert set(wanted.split()) <= set(keys), (width, keys)
            assert not set(left_out.split()) & set(keys), (width, keys)
            used = sum(len(k.key_display) + len(k.description) + 2 for k in app.screen.query(FooterKey))
            assert used <= width  # nothing scrolls off


async def test_j_k_move_and_esc_clears_a_kept_filter(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        order = shown(app)
        app.table.select(order[0])
        await pilot.press("j", "j", "k")
        assert app.table.selected_id == order[1]
        await pilot.press("slash", *"flaky", "enter")  # kept: back in the table, filter on
        assert app.focused is app.table and shown(app) == ["c3d4e5"]
        await pilot.press("escape")  # the README's promise: esc clears it, from the table too
        assert shown(app) == order and not app.table.filter_text and not app.main.filter_box.display
        await pilot.press("escape")  # nothing to clear: esc is not swallowed, nothing breaks
        assert app.is_running and shown(app) == order


async def test_the_sort_arrow_tells_the_true_direction_and_reverses(tmp_path):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        table = app.table

        def runtimes() -> list[float]:
            values = [sort_value("runtime", table.rows_data[i], NOW) for i in shown(app)]
            return [v for v in values if v is not None]

        assert str(table.border_subtitle) == "sort: created ▲"
        await pilot.press("o", "o")
        assert table.sort_by == "runtime" and str(table.border_subtitle) == "sort: runtime ▼"
        assert runtimes() == sorted(runtimes(), reverse=True)  # ▼: 18m, 12m, ... biggest first
        assert shown(app)[-1] == "f6a7b8"  # never started: last, whichever way
        await pilot.press("O")
        assert str(table.border_subtitle) == "sort: runtime ▲" and runtimes() == sorted(runtimes())
        assert shown(app)[-1] == "f6a7b8"
        table.set_sort("runtime")  # a second click on the same header reverses too
        assert table.sort_label == "runtime ▼" and runtimes() == sorted(runtimes(), reverse=True)
        table.set_sort("title")
        app.main.update_titles()
        assert str(table.border_subtitle) == "sort: title ▲"
        titles = [app.agents[i].title.lower() for i in shown(app)]
        assert titles == sorted(titles)


async def test_end_follows_the_log_again_from_the_table_or_the_log(tmp_path):
    app = snapshot_app(tmp_path)
    log_file = app.sup.log_path("a1b2c3")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.log_pane
        log = pane.log
        app.animation_level = "full"  # as on a real terminal: the inherited End scrolled in an animation

        def write(count: int, tag: str) -> None:
            with log_file.open("ab") as fh:
                fh.write(b"".join(b"%s %d\r\n" % (tag.encode(), n) for n in range(count)))

        for key, focus in (("end", app.table), ("ctrl+end", app.table), ("end", log)):
            before = pane.lines_written
            write(100, "filler")
            await wait_until(
                pilot,
                lambda before=before: (
                    pane.lines_written >= before + 100 and log.following and log.scroll_y == log.max_scroll_y > 0
                ),
                what="a full log, followed to its tail",
            )
            await pilot.pause()
            log.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            assert not log.following and "End follows" in str(pane.border_subtitle)
            write(3, "unseen")
            await wait_until(pilot, lambda: pane.new_lines == 3, what=f"the new-lines marker ({key}, {pane.new_lines})")
            focus.focus()
            await pilot.pause()
            app.simulate_key(key)  # (not pilot.press: it would wait for a scroll animation to end)
            write(5, "after")  # lines landing right after the key are followed, not counted
            after = pane.lines_written
            await wait_until(pilot, lambda after=after: pane.lines_written >= after + 5, what="the next lines")
            await pilot.pause()
            assert pane.new_lines == 0 and log.following, (key, focus)
            assert not pane.query_one(".marker").has_class("-shown") and not str(pane.border_subtitle)
            await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y, what="the view at the tail")


async def test_a_queued_agent_says_why_and_counts_down(tmp_path):
    app = snapshot_app(tmp_path)
    clock = [NOW]
    app.clock = lambda: clock[0]
    loop = app.loop
    assert isinstance(loop, FixedLoop)
    real_tick = loop.tick
    reason: list[QueueReason | None] = [None]

    def tick():
        result = real_tick()
        for agent in result.agents:
            if agent.id == "f6a7b8":
                agent.queue = reason[0]
                agent.not_before = NOW + 90
        return result

    loop.tick = tick  # type: ignore[method-assign]
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        app.table.select("f6a7b8")
        await pilot.pause()
        # until the engine fills Agent.queue: the text reason, and the retry backoff's time
        assert cell_text(app, "f6a7b8", "title").endswith("· max_agents 3 reached · starts in 1m30s")
        assert app.log_pane.note == "waiting: max_agents 3 reached · starts in 1m30s"
        reason[0] = QueueReason("resources", "CPU 83% >= danger 80%", until=NOW + 12)
        clock[0] = NOW + 2
        ticks = app.ticks
        app.start_tick()
        await wait_until(pilot, lambda: app.ticks > ticks, what="a tick")
        assert cell_text(app, "f6a7b8", "title").endswith("· CPU 83% >= danger 80% · starts in 10s")
        assert app.log_pane.note == "waiting: CPU 83% >= danger 80% · starts in 10s"
        assert app.log_pane.query_one(".note", Static).display
        clock[0] = NOW + 20
        app.start_tick()
        await wait_until(pilot, lambda: app.log_pane.note.endswith("starts any moment"), what="the countdown run out")
        app.table.select("a1b2c3")
        await pilot.pause()
        assert app.log_pane.note == "" and not app.log_pane.query_one(".note", Static).display


async def test_config_changes_reach_the_open_dashboard_and_a_broken_one_is_refused(tmp_path):
    app = snapshot_app(tmp_path)
    path = app.sup.config.path
    text = path.read_text()

    def write(new: str) -> None:
        path.write_text(new)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a visible change, however fast

    async def tick() -> None:
        ticks = app.ticks
        app.start_tick()
        await wait_until(pilot, lambda: app.ticks > ticks, what="a tick")

    async with app.run_test(size=(120, 35), notifications=True) as pilot:
        await settle(pilot)
        assert app.gauge.max_agents == 3
        write(text.replace("max_agents = 3", "max_agents = 7") + '\n[agents.codex]\ncommand = ["codex", "{prompt}"]\n')
        await tick()
        assert app.sup.config.supervisor.max_agents == 7 and "codex" in app.sup.config.profiles
        assert app.gauge.max_agents == 7 and "/7 max" in app.gauge.render().plain
        assert any(n.title == "config.toml read again" and "max_agents 7" in n.message for n in app._notifications)
        write(text.replace("max_agents = 3", "max_agents = 3,"))  # broken TOML
        await tick()
        refused = [n for n in app._notifications if "refused" in n.title]
        assert refused and "line 5" in refused[-1].message
        assert app.sup.config.supervisor.max_agents == 7  # the last good config stays in use
        assert app.gauge.config_error
        write(text.replace('tmux_socket = "jarvis-snapshot"', 'tmux_socket = "elsewhere"'))
        await tick()
        assert "tmux_socket changed: that takes a restart" in notes(app)[-1]
        assert app.sup.tmux.socket == "jarvis-snapshot" and app.sup.config.supervisor.max_agents == 7
        path.write_text(text)  # same mtime second? ctrl+r reads it regardless
        before = len(app._notifications)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(app._notifications) > before, what="the reload's notification")
        assert app.sup.config.supervisor.max_agents == 3 and not app.gauge.config_error


async def test_the_footer_is_redimmed_only_when_the_selected_agent_changes(tmp_path, monkeypatch):
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        calls: list[int] = []
        refresh = app.main.refresh_bindings
        monkeypatch.setattr(app.main, "refresh_bindings", lambda: (calls.append(app.ticks), refresh()))

        async def tick() -> None:
            ticks = app.ticks
            app.start_tick()
            await wait_until(pilot, lambda: app.ticks > ticks, what="a tick")

        for _ in range(3):
            await tick()
        assert calls == []  # nothing changed: the footer is not rebuilt every tick
        reg = app.sup.registry
        transition(reg, reg.get("a1b2c3"), Event.EXITED_OK, reason="exited 0", now=NOW, ended_at=NOW)
        await tick()
        assert len(calls) == 1
        enabled = {b.key: on for _, b, on, _ in app.screen.active_bindings.values()}
        assert enabled["x"] and enabled["r"] and not enabled["s"]  # done: remove and retry, no input


async def test_the_footer_rebuilds_its_keys_only_when_they_change(tmp_path):
    """Textual rebuilds a footer (a widget per key) at every bindings refresh, focus move or
    resize; ours only when what it shows changed: a refresh or a tick that changes nothing
    rebuilds nothing (the same key widgets stay), a narrower terminal does."""
    from jarvis_tui.tui.widgets.footer import KeysFooter

    app = snapshot_app(tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeysFooter)
        await pilot.pause()
        rebuilds, keys = footer.rebuilds, list(app.screen.query(FooterKey))
        assert rebuilds <= 3, rebuilds  # empty at mount, with the keys, for the selected agent's rules
        for _ in range(3):
            app.screen.refresh_bindings()
            await footer.recompose()  # what Textual's footer does at each bindings refresh
        app.start_tick()
        await wait_until(pilot, lambda: app.ticks >= 2, what="a tick")
        await pilot.pause()
        assert footer.rebuilds == rebuilds and list(app.screen.query(FooterKey)) == keys  # the same widgets
        await pilot.resize_terminal(90, 35)
        await wait_until(pilot, lambda: footer.rebuilds == rebuilds + 1, what="the footer's rebuild")
        await pilot.pause()
        assert len(list(app.screen.query(FooterKey))) < len(keys)  # fitted to 90 columns
