"""The review screen's diff pane: a window onto a :class:`~jarvis_tui.tui.diffs.DiffDocument`.

A line-API widget: Textual asks for the rows on screen (:meth:`render_line`), and only those
are turned into Text and then strips (kept in a small LRU cache while they stay near the
screen). A 10,000-line diff costs what 50 lines cost.

Colours come from the theme (the component classes below), so a light theme gets light
backgrounds; added and removed rows are filled to the edge, like GitHub's.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..diffs import DiffDocument, DiffStyles, View

CACHED_STRIPS = 600


class DiffView(ScrollView, can_focus=True):
    """The rows of one view (a file, or the whole patch) of a diff document."""

    COMPONENT_CLASSES = {
        "diff--added",
        "diff--removed",
        "diff--added-sign",
        "diff--removed-sign",
        "diff--hunk",
        "diff--file",
        "diff--gutter",
        "diff--meta",
        "diff--note",
    }
    DEFAULT_CSS = """
    DiffView { background: $surface; }
    DiffView > .diff--added { background: $success 18%; }
    DiffView > .diff--removed { background: $error 18%; }
    DiffView > .diff--added-sign { color: $text-success; text-style: bold; }
    DiffView > .diff--removed-sign { color: $text-error; text-style: bold; }
    DiffView > .diff--hunk { color: $text-primary; background: $primary 12%; }
    DiffView > .diff--file { text-style: bold; background: $panel; }
    DiffView > .diff--gutter { color: $text-muted; }
    DiffView > .diff--meta { color: $text-muted; text-style: italic; }
    DiffView > .diff--note { color: $text-warning; text-style: italic; }
    """
    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("space", "page_down", "Page down", show=False),
        Binding("b", "page_up", "Page up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
        Binding("n", "next_stop", "Next hunk", show=False),
        Binding("N", "previous_stop", "Previous hunk", show=False),
        Binding("h", "scroll_left", "Left", show=False),
        Binding("l", "scroll_right", "Right", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.document: DiffDocument | None = None
        self.shown = View(0, 0, "")
        self.message = ""  # shown instead of rows (loading, an error, no changes)
        self.stops: list[int] = []
        self._strips: LRUCache[int, tuple[Strip, Style | None]] = LRUCache(CACHED_STRIPS)
        self._styles: DiffStyles | None = None

    # ------------------------------------------------------------------ data in

    def show(self, document: DiffDocument, view: View) -> None:
        """Show ``view`` of ``document`` from its top (nothing is coloured until drawn); the
        view already shown stays where it is scrolled to (a resize rebuilds the file list)."""
        if document is self.document and view == self.shown and not self.message:
            return
        if document is not self.document:
            self._strips.clear()
        self.document = document
        self.shown = view
        self.message = ""
        self.stops = document.stops(view)
        self.virtual_size = Size(view.width, len(view))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.border_subtitle = self.position
        self.refresh()

    def say(self, message: str) -> None:
        """A line instead of a diff: "loading…", an error, "no changes"."""
        self.document = None
        self.shown = View(0, 1, "")
        self.message = message
        self.stops = []
        self._strips.clear()
        self.virtual_size = Size(len(message), 1)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.border_subtitle = ""
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None  # the theme changed: colours come from it again
        self._strips.clear()

    # ------------------------------------------------------------------ drawing

    @property
    def styles_for_rows(self) -> DiffStyles:
        if self._styles is None:
            get = self.get_component_rich_style
            dark = self.app.current_theme.dark if self.app.current_theme else True
            self._styles = DiffStyles(
                added=get("diff--added"),
                removed=get("diff--removed"),
                added_sign=get("diff--added-sign"),
                removed_sign=get("diff--removed-sign"),
                hunk=get("diff--hunk"),
                file=get("diff--file"),
                gutter=get("diff--gutter"),
                meta=get("diff--meta"),
                note=get("diff--note"),
                syntax_theme="github-dark" if dark else "default",
            )
        return self._styles

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        index = scroll_y + y
        if self.document is None or not 0 <= index < len(self.shown):
            if self.message and index == 0:
                strip = Strip([Segment(self.message, base + Style(dim=True, italic=True))])
                return strip.crop_extend(scroll_x, scroll_x + width, base)
            return Strip.blank(width, base)
        row = self.shown.start + index
        cached = self._strips.get(row)
        if cached is None:
            text, fill = self.document.line(row, self.styles_for_rows)
            segments = list(text.render(self.app.console))
            cached = (Strip(segments, text.cell_len).apply_style(base + fill if fill else base), fill)
            self._strips[row] = cached
        strip, fill = cached
        return strip.crop_extend(scroll_x, scroll_x + width, base + fill if fill else base)

    # ------------------------------------------------------------------ moving

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.border_subtitle = self.position

    def on_resize(self) -> None:
        self.show_position()  # the rows on screen changed

    def watch_show_horizontal_scrollbar(self) -> None:
        self.call_after_refresh(self.show_position)  # a scrollbar that came or went takes a row

    def show_position(self) -> None:
        self.border_subtitle = self.position

    @property
    def top(self) -> int:
        return round(self.scroll_offset.y)

    # Jumps, not animations: an animated scroll through 10,000 rows draws every row on the way.
    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_next_stop(self) -> None:
        later = [s for s in self.stops if s > self.top]
        if later:
            self.scroll_to(y=later[0], animate=False)

    def action_previous_stop(self) -> None:
        earlier = [s for s in self.stops if s < self.top]
        if earlier:
            self.scroll_to(y=earlier[-1], animate=False)

    @property
    def position(self) -> str:
        """``120-150 of 10,004``: the rows on screen, of the view's."""
        total = len(self.shown) if self.document is not None else 0
        if not total:
            return ""
        last = min(total, self.top + self.scrollable_content_region.height)
        return f"{self.top + 1}-{last} of {total:,}"


__all__ = ["DiffView"]
