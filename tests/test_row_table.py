"""The agent table redraws only what changed: a moved cursor redraws the two rows it left and
reached, an updated cell its own row and only that cell with Rich, and what is drawn is still
right (structure, no timings)."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult
from tui_helpers import NOW, snapshot_app, wait_until

from jarvis_tui.tui.widgets.agent_table import TIMED
from jarvis_tui.tui.widgets.row_table import RowCachedTable

ROWS = 40


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RowCachedTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(RowCachedTable)
        table.add_column("ID", key="id", width=6)
        table.add_column("RUNTIME", key="runtime", width=8)
        for i in range(ROWS):
            table.add_row(f"a{i:03d}", f"{i}s", key=f"a{i:03d}")


def line_text(table: RowCachedTable, y: int) -> str:
    return table.render_line(y).text


async def settled(pilot) -> RowCachedTable:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.pause()
    return pilot.app.query_one(RowCachedTable)


async def painted(pilot) -> RowCachedTable:  # type: ignore[no-untyped-def]
    """After the first paint, and a second one: the table settles its dimensions once after
    its rows arrive (a structural change), which the counts below must not include."""
    table = await settled(pilot)
    table.refresh()
    table = await settled(pilot)
    table.rows_rendered = 0
    return table


async def test_a_cursor_move_redraws_two_rows_not_the_table():
    app = TableApp()
    async with app.run_test(size=(40, 30)) as pilot:
        table = await painted(pilot)
        await pilot.press("down")
        table = await settled(pilot)
        assert table.cursor_row == 1
        assert 1 <= table.rows_rendered <= 2, table.rows_rendered
        # ...and the highlight really moved: row 1 is styled apart, row 0 like the others
        styles = [[seg.style.bgcolor for seg in table.render_line(y) if seg.style] for y in (1, 2, 3)]
        assert styles[1] != styles[2] and styles[0] == styles[2]


async def test_an_updated_cell_redraws_its_row_only_and_shows_the_new_value():
    app = TableApp()
    async with app.run_test(size=(40, 30)) as pilot:
        table = await painted(pilot)
        table.cells_rendered = 0
        table.update_cell("a005", "runtime", "99m")
        table = await settled(pilot)
        assert table.rows_rendered == 1
        assert table.cells_rendered == 1  # its ID cell came from the cache
        assert "99m" in line_text(table, 6)  # the header is line 0
        assert "6s" in line_text(table, 7)  # its neighbours are drawn from the cache, unchanged


async def test_a_structural_change_redraws_everything():
    app = TableApp()
    async with app.run_test(size=(40, 30)) as pilot:
        table = await painted(pilot)
        table.add_row("new", "0s", key="new")
        table.remove_row("a000")
        table = await settled(pilot)
        assert table.rows_rendered >= 20
        assert "a001" in line_text(table, 1)  # the rows moved up: nothing stale from the cache


async def test_the_clock_alone_redoes_only_the_timed_cells_of_the_agent_table(tmp_path):
    """RUNTIME and OUTPUT change with the clock (once a minute past the first minute); the rest
    of a row is built again only when what it shows changed, and an unchanged cell stays the
    same object."""
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(200, 30)) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 1, timeout=10, what="first tick")
        table = app.table
        built: list[str] = []
        real = table.row_cells
        table.row_cells = lambda row: built.append(row.agent.id) or real(row)  # type: ignore[method-assign]
        before = {agent_id: cells for agent_id, cells in table._cells.items()}
        keys = list(table.widths)
        agents = [replace(a) for a in table.agents]  # equal copies, as every tick reads them
        table.show_agents(agents, table.usage, NOW + 1)
        assert built == []
        assert all(  # a second later: minutes shown, nothing to redraw (a fleet costs no rows a second)
            cells is before[agent_id] or cells[keys.index("output")].plain.endswith("s")
            for agent_id, cells in table._cells.items()
        )
        assert table.get_cell("a1b2c3", "runtime").plain == "12m"  # started NOW - 754
        table.show_agents(agents, table.usage, NOW + 61)
        assert built == []
        moved = set()
        for agent_id, cells in table._cells.items():
            for key, old, new in zip(keys, before[agent_id], cells, strict=True):
                if new is not old:
                    assert key in TIMED, (agent_id, key)
                    moved.add(agent_id)
        assert moved  # the running agents' RUNTIME did move
        assert table.get_cell("a1b2c3", "runtime").plain == "13m"
        changed = replace(agents[0], status="waiting" if agents[0].status != "waiting" else "working")
        table.show_agents([changed, *agents[1:]], table.usage, NOW + 61)
        assert built == [changed.id]


class LookAlikeApp(App[None]):
    """Rows alike but for their id, as a fleet of one profile is."""

    def compose(self) -> ComposeResult:
        yield RowCachedTable(cursor_type="row")

    def on_mount(self) -> None:
        from rich.text import Text

        table = self.query_one(RowCachedTable)
        table.add_column("ID", key="id", width=6)
        table.add_column("STATUS", key="status", width=10)
        table.add_column("AGENT", key="agent", width=6)
        for i in range(ROWS):
            table.add_row(f"a{i:03d}", Text("● working", style="green"), Text("demo", justify="right"), key=f"a{i:03d}")


async def test_cells_that_look_alike_are_drawn_once_and_a_click_still_finds_its_cell():
    """A screen of similar rows: each id drawn by Rich, the shared status and agent cells once
    (and once more for the cursor's row), every cell still stamped with its own row and
    column, which is what a click reads."""
    app = LookAlikeApp()
    async with app.run_test(size=(40, 30)) as pilot:
        table = await settled(pilot)
        assert table.cells_rendered >= 3 * 25
        visible = table.cells_rendered // 3
        assert table.cells_drawn <= visible + 6, (table.cells_drawn, table.cells_rendered)
        for y in (2, 6, 11):
            stamps = {
                (seg.style.meta["row"], seg.style.meta["column"])
                for seg in table.render_line(y)
                if seg.style and "row" in seg.style.meta
            }
            assert stamps == {(y - 1, 0), (y - 1, 1), (y - 1, 2)}, stamps
        assert "● working" in line_text(table, 6) and "demo" in line_text(table, 6)
        await pilot.click(RowCachedTable, offset=(12, 6))  # the status cell of the row at y=6
        assert table.cursor_row == 5
