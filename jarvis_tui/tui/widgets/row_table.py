"""A DataTable that redraws only the rows that changed.

Textual's DataTable keys every cached line on the cursor's position and on one counter that
any cell update bumps, so one moved cursor or one changed cell re-renders every visible row.
With 100 agents whose RUNTIME ticks every second, that was the whole table each second and
again on every key press (the largest part of the dashboard's idle CPU and key latency).

Here a line is cached by its row and that row's own version (bumped when one of its cells is
updated), a cell by its own version (a redrawn row draws only its changed cells with Rich)
and, drawn once, by what it shows: a cell showing what another cell already showed in the
same style and width (``● working``, ``demo``, ``0%``, ``-``) takes that drawing with its own
row and column stamped on (the meta a click reads), so a screen of similar rows costs a few
Rich renders, not one per cell. Both are keyed by whether the cursor or the mouse is on the
cell, and the version keys by a structural count: every other
change the table makes (rows added, cleared, sorted, resized) still clears everything, so
nothing but a cell update is treated differently from Textual's own rules. The cache is
Textual's own line cache, so Textual's clears (styles, theme, dimensions) apply to it.

This leans on DataTable internals of the Textual line pinned in ``pyproject.toml``; anything
unexpected (another cursor type, a missing internal) falls back to Textual's own rendering.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop  # same helper DataTable crops with
from textual._types import SegmentLines
from textual.coordinate import Coordinate
from textual.renderables.styled import Styled
from textual.strip import Strip
from textual.widgets import DataTable

ELSEWHERE = Coordinate(-2, -2)  # "not on this row" (-1 is the header's row index)


class RowCachedTable(DataTable[Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._row_versions: dict[object, int] = {}
        self._cell_updates = 0  # update_count bumps that came from update_cell
        self._cell_versions: dict[tuple[object, object], int] = {}
        self.rows_rendered = 0  # lines built (not from the cache): what the tests count
        self.cells_rendered = 0  # cells drawn (not from the cache), by Rich or from a look-alike
        self.cells_drawn = 0  # of those, the ones Rich drew (no cell showed the same before)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        if update_width:
            return  # widths may change: a structural change, left to Textual's counter
        self._cell_updates += 1
        key = getattr(row_key, "value", row_key)
        self._row_versions[key] = self._row_versions.get(key, 0) + 1
        cell = (key, getattr(column_key, "value", column_key))
        self._cell_versions[cell] = self._cell_versions.get(cell, 0) + 1

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """A cell drawn again only when it changed (Textual's cell cache is keyed on the
        table-wide update counter: one changed cell redrew every cell of a redrawn row)."""
        if row_index < 0 or column_index < 0:  # the header and row labels: Textual's own rules
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            "cell",
            row_key,
            column_key,
            self._cell_versions.get((row_key.value, column_key.value), 0),
            self._update_count - self._cell_updates,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        cells: Any = self._cell_render_cache  # keyed by our own tuples alongside Textual's
        lines = cells.get(key)
        if lines is None:
            self.cells_rendered += 1
            lines = self._look_alike(row_key, row_index, column_index, base_style, width, cursor, hover)
            if lines is None:
                self.cells_drawn += 1
                lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            cells[key] = lines
        return lines  # type: ignore[no-any-return]

    def _look_alike(
        self,
        row_key: Any,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> SegmentLines | None:
        """The cell drawn as Textual draws it (``DataTable._render_cell``: the cell padded, in the
        base, component and post styles), kept by what it shows, with this cell's row and column
        meta applied last (the only part that differs between look-alikes). None: not a
        one-line Text cell (drawn by Textual instead)."""
        row = self.rows.get(row_key)
        if row is None or row.height != 1 or row.auto_height:
            return None
        cell = self._get_row_renderables(row_index).cells[column_index]
        if not isinstance(cell, Text):
            return None
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            fixed,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        key = (
            "looks",
            cell.plain,
            cell.style,
            tuple(cell.spans),
            cell.justify,
            cell.overflow,
            cell.no_wrap,
            base_style,
            component_style,
            post_style,
            width,
            self.cell_padding,
        )
        cells: Any = self._cell_render_cache
        drawn = cells.get(key)
        if drawn is None:
            self.cells_drawn += 1
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            drawn = self.app.console.render_lines(
                Styled(Padding(cell, (0, self.cell_padding)), base_style + component_style, post_style), options
            )
            cells[key] = drawn
        return self._stamped(drawn, row_index, column_index)

    @staticmethod
    def _stamped(lines: SegmentLines, row_index: int, column_index: int) -> SegmentLines:
        meta = Style.from_meta({"row": row_index, "column": column_index})
        return [list(Segment.apply_style(line, post_style=meta)) for line in lines]

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        width = self.size.width
        try:
            row_key, y_in_row = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        row_index = self._row_locations.get(row_key)
        if row_index is None:
            row_index = -1  # the header
        cursor = self.cursor_coordinate if self.cursor_coordinate.row == row_index else ELSEWHERE
        hover = self.hover_coordinate if self.hover_coordinate.row == row_index else ELSEWHERE
        key = (
            "row",
            row_key,
            self._row_versions.get(row_key.value, 0),
            self._update_count - self._cell_updates,
            y,  # rows move only with a structural change; y keeps header and rows apart
            y_in_row,
            x1,
            x2,
            width,
            cursor.row,
            hover.row,
            self.show_cursor,
            self._show_hover_cursor,
            base_style,
            self._pseudo_class_state,
        )
        lines: Any = self._line_cache  # keyed by our own tuples alongside Textual's
        cached = lines.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        self.rows_rendered += 1
        fixed, scrollable = self._render_line_in_row(
            row_key, y_in_row, base_style, cursor_location=cursor, hover_location=hover
        )
        fixed_width = sum(column.get_render_width(self) for column in self.ordered_columns[: self.fixed_columns])
        fixed_line = list(chain.from_iterable(fixed)) if fixed else []
        segments = fixed_line + line_crop(list(chain.from_iterable(scrollable)), x1 + fixed_width, x2, width)
        strip = Strip(segments).adjust_cell_length(width, base_style).simplify()
        lines[key] = strip
        return strip
