"""A DataTable that redraws only the rows that changed.

Textual's DataTable keys every cached line on the cursor's position and on one counter that
any cell update bumps, so one moved cursor or one changed cell re-renders every visible row.
With 100 agents whose RUNTIME ticks every second, that was the whole table each second and
again on every key press (the largest part of the dashboard's idle CPU and key latency).

Here a line is cached by its row and that row's own version (bumped when one of its cells is
updated), a cell by its own version (a redrawn row draws only its changed cells with Rich),
by whether the cursor or the mouse is on it, and by a structural count: every other
change the table makes (rows added, cleared, sorted, resized) still clears everything, so
nothing but a cell update is treated differently from Textual's own rules. The cache is
Textual's own line cache, so Textual's clears (styles, theme, dimensions) apply to it.

This leans on DataTable internals of the Textual line pinned in ``pyproject.toml``; anything
unexpected (another cursor type, a missing internal) falls back to Textual's own rendering.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from rich.style import Style
from textual._segment_tools import line_crop  # same helper DataTable crops with
from textual._types import SegmentLines
from textual.coordinate import Coordinate
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
        self.cells_rendered = 0  # cells drawn by Rich (not from the cache)

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
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            cells[key] = lines
        return lines  # type: ignore[no-any-return]

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
