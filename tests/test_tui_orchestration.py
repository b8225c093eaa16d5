"""What a person sees of an orchestrator's work in the dashboard: the orchestrator itself in the
header, held tickets, ticket ids, dependencies and findings in the detail view."""

from __future__ import annotations

from tui_helpers import NOW, FixedLoop, cell_text, rich_text, settle, snapshot_app, wait_until

from jarvis_tui.engine import orchestrators
from jarvis_tui.engine.loop import TickResult
from jarvis_tui.tui.screens.detail import DetailScreen


class OrchestratedLoop(FixedLoop):
    def tick(self) -> TickResult:
        result = super().tick()
        result.orchestrators = orchestrators.connected(self.sup.registry)
        return result


def orchestrated_app(tmp_path):
    app = snapshot_app(tmp_path)
    reg = app.sup.registry
    with reg.transaction() as conn:
        reg.create_task(
            conn,
            task_id="0d0e0f",
            title="Rotate the keys",
            prompt="rotate",
            priority="medium",
            profile="demo",
            now=NOW - 30,
            ticket="OPS-3",
            after=["e5f6a7"],
        )
        reg.create_attempt(
            conn, attempt_id="0d0e0f", task_id="0d0e0f", attempt=1, profile="demo", status="held", now=NOW - 30
        )
    app.sup.add_note("e5f6a7", "the old keys live in vault/legacy", tag="risk", by_agent=True)
    orchestrators.register(reg, "claude-code", "2.1", now=NOW - 300)
    app.loop = OrchestratedLoop(app.sup, {})  # type: ignore[assignment]
    return app


async def test_the_header_names_the_orchestrator_beside_its_workers(tmp_path):
    app = orchestrated_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await wait_until(
            pilot,
            lambda: "orchestrator: claude-code 5m00s, no call yet" in app.sub_title,
            what="the orchestrator in the header",
        )
        orchestrators.touch(app.sup.registry, "spawn", now=NOW - 4)
        app.start_tick()
        await wait_until(pilot, lambda: "last call 4s ago" in app.sub_title, what="its last call")
    orchestrators.unregister(app.sup.registry)


async def test_held_tickets_and_findings_are_shown(tmp_path):
    app = orchestrated_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert cell_text(app, "0d0e0f", "status") == "‖ held"
        assert cell_text(app, "0d0e0f", "title") == "OPS-3 Rotate the keys · until released"
        assert "‖ 1 held" in app.gauge.counts_markup(short=False).replace("[dim]", "").replace("[/]", "")
        app.table.select("0d0e0f")
        await pilot.press("i")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, DetailScreen) and app.screen.data is not None,
            what="the detail view, loaded",
        )
        overview = rich_text(app.screen.overview(app.screen.data))
        assert "ticket         OPS-3" in overview and "after          e5f6a7 done" in overview
        await pilot.press("escape")
        app.table.select("e5f6a7")
        await pilot.press("i")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, DetailScreen) and app.screen.data is not None and app.screen.agent.id == "e5f6a7"
            ),
            what="the detail view of the analysis",
        )
        overview = rich_text(app.screen.overview(app.screen.data))
        assert "Findings (jarvis note)" in overview and "[risk] the old keys live in vault/legacy" in overview
    async with orchestrated_app(tmp_path / "narrow").run_test(size=(80, 24)) as pilot:
        await wait_until(
            pilot,
            lambda: pilot.app.sub_title.endswith("· orchestrator: claude-code"),
            what="the short form at 80 columns",
        )
    orchestrators.unregister(app.sup.registry)
