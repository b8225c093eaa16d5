"""The metrics view (``m``): per-profile numbers from the registry, live and on fixed data.

Regenerate its snapshot with ``pytest tests/test_tui_metrics.py --snapshot-update`` and LOOK at
the SVG under tests/__snapshots__/ before committing it.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey
from tui_helpers import NOW, READING, FixedLoop, make_app, rich_text, settle, status_of, wait_until, write_fixed_state

from jarvis_tui.engine.config import load_config
from jarvis_tui.engine.models import DONE, FIRED, WORKING
from jarvis_tui.engine.supervisor import Supervisor
from jarvis_tui.tui.app import JarvisApp
from jarvis_tui.tui.screens.metrics import MetricsScreen

COLUMNS = ("profile", "disp", "run", "queued", "done", "fail", "fired", "ok", "median/mean", "hours", "usd")

# A profile nothing ran on yet: shown, dimmed.
IDLE_PROFILE = """
[agents.codex]
command = ["codex", "{prompt}"]
cost_weight = 2.5
"""


def metrics_app(root: Path) -> JarvisApp:
    """The snapshot state, plus history (a removed agent fired for a timeout, another derailed
    one) and an idle profile."""
    sup = write_fixed_state(root)
    with sup.registry.transaction() as conn:
        for attempt_id, profile, reason, automatic, started, ended in (
            ("a0a0a0", "claude", "timeout", True, NOW - 9000, NOW - 5400),
            ("b0b0b0", "demo", "derailed", False, NOW - 8000, NOW - 7100),
        ):
            sup.registry.create_task(
                conn,
                task_id=attempt_id,
                title=f"Old job {attempt_id}",
                prompt="old",
                priority="medium",
                profile=profile,
                now=started - 10,
            )
            sup.registry.create_attempt(
                conn,
                attempt_id=attempt_id,
                task_id=attempt_id,
                attempt=1,
                profile=profile,
                status=FIRED,
                now=started - 10,
                started_at=started,
                ended_at=ended,
                removed=1,
                status_reason=f"fired: {reason}",
            )
            sup.registry.add_fire(conn, attempt_id, reason, "", None, automatic=automatic, now=ended)
    sup.registry.close()
    config_path = root / "config.toml"
    config_path.write_text(config_path.read_text() + IDLE_PROFILE)
    sup = Supervisor(load_config(config_path, check_repo=False), clock=lambda: NOW, readings=lambda: READING)
    return JarvisApp(sup, loop=FixedLoop(sup, {}), interval=3600, git_interval=None)  # type: ignore[arg-type]


async def open_metrics(pilot: Pilot) -> MetricsScreen:
    await pilot.press("m")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MetricsScreen), what="the metrics view")
    screen = pilot.app.screen
    assert isinstance(screen, MetricsScreen)
    await wait_until(pilot, lambda: screen.rows is not None, what="the first read")
    await pilot.pause()
    return screen


def row(screen: MetricsScreen, profile: str) -> dict[str, str]:
    return dict(zip(COLUMNS, screen.row_text(profile), strict=False))


def static_text(screen: MetricsScreen, selector: str) -> str:
    return rich_text(screen.query_one(selector, Static).content)


# --------------------------------------------------------------------------- live


async def test_metrics_count_a_done_and_a_fired_agent(jarvis_env):
    sup = jarvis_env.sup()
    done = sup.spawn("Quick #steps=1", agent="demo", title="Quick")
    doomed = sup.spawn("Wander off #hang", agent="demo", title="Wanders")
    jarvis_env.wait_status(sup, done.id, DONE)
    jarvis_env.wait_status(sup, doomed.id, WORKING)
    sup.fire(doomed.id, "derailed", "rewrote the build")
    app = make_app(sup)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(app, doomed.id) == FIRED, what="the fired agent in the table")
        screen = await open_metrics(pilot)
        demo = row(screen, "demo")
        assert (demo["disp"], demo["done"], demo["fail"], demo["fired"], demo["ok"]) == ("2", "1", "0", "1", "50%")
        median, mean = demo["median/mean"].split("/")
        assert median == mean and median.endswith("s")  # one done agent: a duration, both the same
        assert "derailed 1" in static_text(screen, "#metrics-fired")
        await pilot.press("escape")
        assert not isinstance(app.screen, MetricsScreen) and len(app.screen_stack) == 1
        await pilot.press("m")  # m toggles it, and q closes it without quitting the dashboard
        await wait_until(pilot, lambda: isinstance(app.screen, MetricsScreen), what="the metrics view again")
        await pilot.press("m")
        assert len(app.screen_stack) == 1
        await open_metrics(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and len(app.screen_stack) == 1 and app.return_value is None
        await app.workers.wait_for_complete()


# --------------------------------------------------------------------------- fixed data


async def test_rows_totals_idle_profiles_and_fired_reasons(tmp_path):
    app = metrics_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_metrics(pilot)
        assert [r["profile"] for r in screen.rows] == ["demo", "claude", "codex"]
        # demo: working + waiting + failed + done + a removed derailed one; f6a7b8 queued
        assert row(screen, "demo") == dict(
            zip(COLUMNS, ("demo", "5", "2", "1", "1", "1", "1", "33%", "8m20s/8m20s", "0.74", "-"), strict=False)
        )
        codex = row(screen, "codex")
        assert codex["disp"] == "0" and codex["ok"] == "-" and codex["median/mean"] == "-"
        styles = {str(cell.style) for cell in screen.table.get_row("codex")}
        assert styles == {"dim"}  # configured, nothing ran: dimmed
        assert "dim" not in {str(cell.style) for cell in screen.table.get_row("demo")}
        total = row(screen, "total")
        counts = (total["disp"], total["done"], total["fail"], total["fired"], total["ok"])
        assert counts == ("7", "1", "2", "3", "17%")
        assert total["median/mean"] == "-/8m20s"  # no median of medians
        fired = [" ".join(line.split()) for line in static_text(screen, "#metrics-fired").splitlines()]
        assert fired == [
            "Fired by reason",
            "demo derailed 1",
            "claude derailed 1 · timeout 1",
            "all derailed 2 · timeout 1",
        ]
        # the table fits 80 columns
        assert screen.table.virtual_size.width <= 80


async def test_reload_refresh_and_errors_on_screen(tmp_path, monkeypatch):
    app = metrics_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_metrics(pilot)
        screen.refresh_every = 0.2
        loads = screen.loads
        await wait_until(pilot, lambda: screen.loads >= loads + 2, what="the view refreshing by itself")
        # a new agent in the registry shows up without a key press
        with app.sup.registry.transaction() as conn:
            app.sup.registry.create_task(
                conn, task_id="c0c0c0", title="New", prompt="new", priority="low", profile="codex", now=NOW
            )
            app.sup.registry.create_attempt(
                conn, attempt_id="c0c0c0", task_id="c0c0c0", attempt=1, profile="codex", status="queued", now=NOW
            )
        await wait_until(pilot, lambda: row(screen, "codex")["queued"] == "1", what="the new agent counted")
        assert "dim" not in {str(cell.style) for cell in screen.table.get_row("codex")}

        def broken(*args, **kwargs):
            raise OSError("database is locked")

        monkeypatch.setattr("jarvis_tui.tui.screens.metrics.profile_stats", broken)
        await pilot.press("r")
        await wait_until(pilot, lambda: "database is locked" in screen.error, what="the error on screen")
        error = screen.query_one("#metrics-error", Static)
        assert error.display and "database is locked" in rich_text(error.content)
        assert row(screen, "codex")["queued"] == "1"  # the last numbers stay
        monkeypatch.undo()
        await wait_until(pilot, lambda: not screen.error, what="recovery on the next refresh")
        assert not error.display and app.is_running
        await pilot.press("escape")
        assert len(app.screen_stack) == 1


async def test_metrics_is_in_the_palette_not_the_footer(tmp_path):
    app = metrics_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen_stack[0])]
        assert "Metrics (m)" in titles
        footer_keys = {key.key for key in app.screen.query(FooterKey)}
        assert "m" not in footer_keys and "q" in footer_keys  # the footer is full at 80 columns


def test_metrics_view(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await open_metrics(pilot)

    assert snap_compare(metrics_app(tmp_path), terminal_size=(80, 24), run_before=run_before)
