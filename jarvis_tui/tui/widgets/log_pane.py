"""An agent's output, live: read incrementally from its log file, tail followed until you scroll.

The engine's :class:`LogTail` does the file work (offsets, bounded chunks, ``\\r`` and escape
normalisation) in a short thread worker per poll; the UI thread only appends the lines. They
are kept as text and drawn only where seen (:class:`FollowLog`): a poll of 600 lines, or a
switch to an agent with a long log, costs what the pane shows, not what was written. A pane
that is not on screen reads nothing, and the widget keeps at most ``max_lines`` lines.

The log is looked at every ``interval`` (0.25 s), so the first line after a silence shows at
once; while the agent keeps printing, the pane reads and redraws every ``stream_interval``
(0.5 s). Each redraw of a followed log moves every line on screen (the compositor redraws the
whole pane): a stream at 4 frames a second was half the dashboard's CPU with 20 agents
printing; text scrolling that fast is not read line by line anyway.
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from ...engine.logs import LogTail

FLOOD_BYTES = 64 * 1024  # unread output above this at a poll: the pane skips to the tail
FLOOD_KEEP = 200  # lines shown after such a skip
_SGR = re.compile(r"\x1b\[[0-9;:]*m")  # what LogTail leaves of escapes (colours), zero cells wide

Line = str | Text  # a log line (SGR colours kept), or a note of the pane's own


class FollowLog(ScrollView, can_focus=True):
    """An agent's output: lines kept as text, rendered to strips only when on screen (a cache
    holds the recent ones), and whether the user is at the tail (following) or scrolled up."""

    DEFAULT_CSS = """
    FollowLog { background: $surface; color: $foreground; overflow-y: scroll; }
    FollowLog:focus { background-tint: $foreground 5%; }
    """

    # Not an animated scroll to where the end WAS: lines arriving meanwhile left it short of
    # the tail, not following, the "new lines" marker still counting.
    BINDINGS = [Binding("end,ctrl+end", "follow", "Follow", show=False)]
    following = True

    # Lines written change only this widget's scrollable height. Textual's default for that is
    # a layout of the whole screen (virtual_size is a layout reactive), several times a second
    # for a printing agent. The scrollbars are updated here instead; a scrollbar that appears
    # or goes still makes its own layout (show_vertical_scrollbar is one).
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines
        self._lines: deque[Line] = deque()
        self._dropped = 0  # lines that left the top since the last clear: cache keys stay valid
        self._widest = 0
        self._strips: LRUCache[int, Strip] = LRUCache(1024)  # line number since clear -> strip
        self._shown: LRUCache[tuple[int, int, int], Strip] = LRUCache(256)  # (line, x, width) -> as drawn
        self._blank: Strip | None = None
        self.strips_rendered = 0  # (tests count them)

    def write_lines(self, lines: list[Line]) -> None:
        if not lines:
            return
        self._lines.extend(lines)
        self._widest = max(self._widest, *(_cells(line) for line in lines))
        excess = len(self._lines) - self.max_lines
        if excess > 0:
            for _ in range(excess):
                self._lines.popleft()
            self._dropped += excess
        self.virtual_size = Size(self._widest, len(self._lines))
        self.refresh()

    def clear(self) -> None:
        self._lines.clear()
        self._strips.clear()
        self._shown.clear()
        self._dropped = self._widest = 0
        self.virtual_size = Size(0, 0)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> list[Strip]:
        """Every line held, rendered (for tests and inspection; drawing uses :meth:`render_line`)."""
        return [self._strip(index) for index in range(len(self._lines))]

    def _strip(self, index: int) -> Strip:
        key = self._dropped + index
        strip = self._strips.get(key)
        if strip is None:
            line = self._lines[index]
            if isinstance(line, str):
                line = Text.from_ansi(line) if "\x1b" in line else Text(line)
            strip = Strip(line.render(self.app.console), line.cell_len)
            self._strips[key] = strip
            self.strips_rendered += 1
        return strip

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the view, as drawn: cached, so a frame that repaints the pane without
        scrolling makes no new strips (each would be compared and divided again)."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self._lines):
            if self._blank is None or self._blank.cell_length != width:
                self._blank = Strip.blank(width, self.rich_style)
            return self._blank
        key = (self._dropped + index, scroll_x, width)
        shown = self._shown.get(key)
        if shown is None:
            style = self.rich_style
            shown = self._strip(index).crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
            self._shown[key] = shown
        return shown

    def notify_style_update(self) -> None:  # (focus changes the background tint, too)
        super().notify_style_update()
        self._strips.clear()
        self._shown.clear()
        self._blank = None

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        following = new_value >= self.max_scroll_y
        if following != self.following and isinstance(self.parent, LogPane):
            self.following = following
            self.parent.following_changed()
        self.following = following

    def action_follow(self) -> None:
        if isinstance(self.parent, LogPane):
            self.parent.follow()


def _cells(line: Line) -> int:
    if isinstance(line, Text):
        return line.cell_len
    return cell_len(_SGR.sub("", line) if "\x1b" in line else line)


class LogPane(Vertical):
    """The selected agent's output (or one cell of the grid)."""

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > FollowLog { height: 1fr; background: $surface; scrollbar-size-vertical: 1; overflow-y: auto; }
    LogPane > .partial { height: auto; max-height: 2; color: $warning; text-style: bold; padding: 0 1; }
    LogPane > .marker {
        display: none; dock: bottom; height: 1; width: auto; offset-x: 1;
        background: $accent; color: $text; padding: 0 1;
    }
    LogPane > .marker.-shown { display: block; }
    LogPane > .note { height: auto; max-height: 3; color: $text-muted; text-style: italic; padding: 0 1; }
    """

    class Lines(Message):
        """New lines read by the worker (``generation`` guards against a switched agent)."""

        def __init__(self, pane: LogPane, generation: int, texts: list[Line], partial: str, error: str = "") -> None:
            super().__init__()
            self.pane = pane
            self.generation = generation
            self.texts = texts
            self.partial = partial
            self.error = error

    def __init__(
        self,
        *,
        max_lines: int = 2000,
        interval: float = 0.25,
        stream_interval: float = 0.5,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.max_lines = max_lines
        self.interval = interval
        self.stream_interval = stream_interval
        self.read_at = float("-inf")  # when the last read that found new output came back
        self.reads = 0  # reads started (what the tests count)
        self.agent_id: str | None = None
        self.path: Path | None = None
        self.tail: LogTail | None = None
        self.generation = 0
        self.reading = False
        self.new_lines = 0
        self.lines_written = 0
        self.partial = ""
        self.note = ""
        # Kept, not queried: the pane's own scroll events can arrive while it is being removed.
        self._log = FollowLog(max_lines=max_lines)

    def compose(self) -> ComposeResult:
        yield Static("", classes="note", markup=False)
        yield self._log
        yield Static("", classes="partial", markup=False)
        yield Static("", classes="marker", markup=False)

    def on_mount(self) -> None:
        self.query_one(".partial", Static).display = False
        self.query_one(".note", Static).display = False
        self.set_interval(self.interval, self.poll)

    @property
    def log(self) -> FollowLog:  # type: ignore[override]  # (Widget.log is Textual's debug logger)
        return self._log

    # ------------------------------------------------------------------ which agent

    def show(self, agent_id: str | None, path: Path | None) -> None:
        """Follow another agent's log (or none). Starts at the last ``max_lines`` lines."""
        if agent_id == self.agent_id and path == self.path:
            return
        self.agent_id, self.path = agent_id, path
        self.generation += 1
        self.read_at = float("-inf")
        self.tail = None
        if path is not None:
            self.tail = LogTail(path, keep_sgr=not self.app.no_color)
        self.new_lines = 0
        self.lines_written = 0
        self.log.clear()
        self.log.following = True
        self.following_changed()
        self.set_partial("")
        self.set_note("")
        self.update_marker()
        self.poll()

    # ------------------------------------------------------------------ reading

    def on_screen(self) -> bool:
        """Visible now? Hidden panes (grid off, another screen on top) read nothing."""
        if not self.screen.is_current:
            return False
        node: Widget | None = self
        while isinstance(node, Widget):
            if not node.display:
                return False
            node = node.parent if isinstance(node.parent, Widget) else None
        return True

    def poll(self) -> None:
        if self.tail is None or self.reading or not self.is_mounted or not self.on_screen():
            return
        now = time.monotonic()
        if now - self.read_at < self.stream_interval:
            return  # it printed at the last read: a stream is redrawn at its own, slower pace
        self.reading = True
        self.reads += 1
        self.read_lines(self.tail, self.generation, first=self.lines_written == 0, follow=self.log.following)

    @work(thread=True, exit_on_error=False, group="log-read")
    def read_lines(self, tail: LogTail, generation: int, first: bool, follow: bool = True) -> None:
        texts: list[Line] = []
        partial = ""
        error = ""
        try:
            keep_lines = self.max_lines
            if first and tail.offset == 0:
                tail.seek_tail(self.max_lines)
            elif follow and (backlog := tail.backlog()) > FLOOD_BYTES:
                # An agent printing faster than a screen can show: jump to its last lines instead
                # of rendering megabytes nobody can read (keys stay responsive). Nothing is lost:
                # the log file has every line, and the pane says how much it skipped.
                tail.seek_tail(FLOOD_KEEP)
                keep_lines = FLOOD_KEEP
                texts.append(
                    Text(
                        f"⋯ {backlog / 1024:,.0f} KiB of new output: only its last {FLOOD_KEEP} lines shown, "
                        "to keep up (every line is in the log file)",
                        style="dim italic",
                    )
                )
            lines = tail.read()
            if len(lines) > keep_lines:
                lines = lines[-keep_lines:]
            texts += lines  # (made Text only when drawn)
            partial = tail.partial
        except Exception as exc:  # noqa: BLE001 - a vanished or unreadable log must not kill the pane
            error = f"cannot read log: {exc}"
        self.post_message(self.Lines(self, generation, texts, partial, error))

    def on_log_pane_lines(self, message: Lines) -> None:
        message.stop()
        self.reading = False
        closing = self.app._exit or not self.app.is_running
        if message.generation != self.generation or not self.is_attached or closing:
            return  # another agent by now, or the app is closing
        if message.error:
            self.set_partial(message.error)
            return
        if message.texts:
            self.read_at = time.monotonic()  # (the next read waits for the stream interval)
            log = self.log
            follow = log.following
            log.write_lines(message.texts)
            self.lines_written += len(message.texts)
            if follow:
                log.scroll_end(animate=False, immediate=True, x_axis=False)
            else:
                self.new_lines += len(message.texts)
                self.update_marker()
        self.set_partial(Text.from_ansi(message.partial).plain if message.partial.strip() else "")

    def set_partial(self, text: str) -> None:
        if text == self.partial:
            return
        self.partial = text
        widget = self.query_one(".partial", Static)
        widget.update("▌ " + text if text else "")
        widget.display = bool(text)

    def set_note(self, text: str) -> None:
        """A line above the output (a queued agent: why it waits, and for how long)."""
        if text == self.note:
            return
        self.note = text
        widget = self.query_one(".note", Static)
        widget.update(text)
        widget.display = bool(text)

    def following_changed(self) -> None:
        if self.log.following:
            self.caught_up()
        self.border_subtitle = "" if self.log.following else "scrolled up · End follows"

    def caught_up(self) -> None:
        if self.new_lines:
            self.new_lines = 0
            self.update_marker()

    def follow(self) -> None:
        """Back to the tail, and stay there (the marker's click, End, ctrl+End)."""
        log = self.log
        log.scroll_end(animate=False, immediate=True, x_axis=False)
        log.following = True  # even if lines land before the scroll: they are written followed
        self.following_changed()

    def on_click(self, event: events.Click) -> None:
        if event.widget is not None and event.widget.has_class("marker"):
            self.follow()

    def update_marker(self) -> None:
        marker = self.query_one(".marker", Static)
        if self.new_lines:
            plural = "s" if self.new_lines != 1 else ""
            marker.update(f"▼ {self.new_lines} new line{plural} · End or click to follow")
            marker.add_class("-shown")
        else:
            marker.remove_class("-shown")
