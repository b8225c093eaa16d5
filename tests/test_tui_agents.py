"""The dashboard's face of issue 12: the COST column (and when it is dropped), today's spending
in the header, the status source in the detail view, and unavailable profiles in the spawn
dialog."""

from __future__ import annotations

from textual.widgets import Select, Static, TextArea
from tui_helpers import NOW, READING, FixedLoop, cell_text, make_app, rich_text, settle, snapshot_app, wait_until

from jarvis_tui.engine.config import load_config
from jarvis_tui.engine.loop import TickResult
from jarvis_tui.engine.supervisor import Supervisor
from jarvis_tui.tui.app import JarvisApp
from jarvis_tui.tui.screens.detail import DetailScreen
from jarvis_tui.tui.screens.spawn import SpawnScreen


class SpendingLoop(FixedLoop):
    def tick(self) -> TickResult:
        result = super().tick()
        result.spent_today = {"demo": 16.5, "claude": 1.0}
        return result


def with_costs(tmp_path):  # type: ignore[no-untyped-def]
    app = snapshot_app(tmp_path)
    reg = app.sup.registry
    reg.update_attempt(
        "a1b2c3",
        cost_usd=1.234,
        cost_source="transcript",
        cost_note="genai-prices: sonnet",
        tokens_input=1200,
        tokens_output=340,
        tokens_cache_read=50_000,
        tokens_cache_write=0,
        budget_warned=True,
        status_source="report",
        reported_state="working",
    )
    reg.update_attempt("b2c3d4", cost_usd=0.4, cost_source="estimate", status_source="screen")
    return app


async def test_the_cost_column_shows_at_wide_widths_and_yields_at_80(tmp_path):
    app = with_costs(tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        assert "cost" in app.table.widths
        assert cell_text(app, "a1b2c3", "cost") == "$1.23!"  # past its budget's warn_at
        assert cell_text(app, "b2c3d4", "cost") == "~$0.40"  # an estimate says so
        assert app.table.get_cell("b2c3d4", "cost").style == "dim"
    app = with_costs(tmp_path / "narrow")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "cost" not in app.table.widths and {"id", "status", "title", "runtime"} <= set(app.table.widths)


async def test_the_header_shows_todays_spending_against_the_daily_budget(tmp_path):
    app = snapshot_app(tmp_path)
    text = app.sup.config.path.read_text() + "\n[budgets]\ndaily = 20.0\n"
    app.sup.config.path.write_text(text)
    sup = Supervisor(load_config(app.sup.config.path, check_repo=False), clock=lambda: NOW, readings=lambda: READING)
    app = JarvisApp(sup, loop=SpendingLoop(sup, {}), interval=3600, git_interval=None)  # type: ignore[arg-type]
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        header = str(app.gauge.render())
        assert "$17.50/$20 today" in header  # 87 % of the budget: drawn in the warning colour
        assert app.gauge.spend_markup(short=False).count("$warning") == 1


async def test_the_detail_view_says_what_the_status_rests_on_and_the_cost(tmp_path):
    app = with_costs(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await wait_until(
            pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.data is not None, what="the detail view"
        )
        overview = [" ".join(line.split()) for line in rich_text(app.screen.overview(app.screen.data)).splitlines()]
        assert "status from the agent's own report (working)" in overview
        assert "cost $1.23 (transcript: genai-prices: sonnet)" in overview
        assert "tokens 1.2k in · 340 out · 50.0k cache read · 0 cache write" in overview


GHOST = '[agents.ghost]\ncommand = ["no-such-agent-binary", "{prompt}"]\n'


async def test_the_spawn_dialog_marks_and_refuses_a_profile_that_is_not_installed(jarvis_env):
    jarvis_env.write_config(extra=GHOST)
    app = make_app(jarvis_env.sup())
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 1, what="first tick")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, SpawnScreen), what="spawn dialog")
        dialog = app.screen
        assert ("ghost (not installed)", "ghost") in dialog.profile_options()
        assert ("demo", "demo") in dialog.profile_options()
        dialog.query_one("#agent", Select).value = "ghost"
        dialog.query_one("#prompt", TextArea).text = "hello"
        await pilot.press("ctrl+s")
        error = dialog.query_one("#error", Static)
        assert isinstance(app.screen, SpawnScreen) and error.display
        assert "profile ghost: 'no-such-agent-binary' is not installed (not on PATH)" in str(error.render())
        await pilot.press("escape")
    assert jarvis_env.sup().registry.agents(include_removed=True) == []
