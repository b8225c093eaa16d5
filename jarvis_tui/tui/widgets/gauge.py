"""The header gauge: system CPU and RAM as zone-coloured bars, the agent counts, today's spending.

Zones come from ``[resources]`` through the engine's :func:`zone_of`, so the colour on screen
is the same decision admission makes: safe (green), warning (yellow), danger (red).
"""

from __future__ import annotations

from collections import Counter

from textual.content import Content
from textual.markup import escape
from textual.widget import Widget

from ...engine.config import ResourcesConfig
from ...engine.models import BLOCKED, HELD, QUEUED, STARTING, WAITING, WORKING, Agent
from ...engine.resources import DANGER, SAFE, SystemReading, zone_of

ZONE_COLOUR = {SAFE: "$success", "warning": "$warning", DANGER: "$error"}


def counts(agents: list[Agent]) -> Counter[str]:
    return Counter(a.status for a in agents)


def bar(value: float, width: int) -> tuple[str, str]:
    """Filled and empty parts of a bar of ``width`` cells for a percentage."""
    filled = round(max(0.0, min(100.0, value)) / 100 * width)
    return "█" * filled, "░" * (width - filled)


class ResourceGauge(Widget):
    """``3/5 max │ ● 2 working  ? 1 waiting  … 1 queued   CPU ████░░ 42%  RAM ██████░ 63%``"""

    DEFAULT_CSS = """
    ResourceGauge {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, resources: ResourcesConfig, max_agents: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.resources = resources
        self.max_agents = max_agents
        self.reading: SystemReading | None = None
        self.tally: Counter[str] = Counter()
        self.error = ""
        self.note = ""
        self.config_error = False
        self.spent: float | None = None  # USD spent today (all profiles)
        self.daily = 0.0  # [budgets] daily (0: none)
        self.warn_at = 0.8

    def configure(self, resources: ResourcesConfig, max_agents: int) -> None:
        """A reloaded config: its zones and its limit from now on."""
        self.resources = resources
        self.max_agents = max_agents
        self.refresh()

    def show(
        self,
        reading: SystemReading | None,
        agents: list[Agent],
        *,
        note: str = "",
        spent: float | None = None,
        daily: float = 0.0,
        warn_at: float = 0.8,
    ) -> None:
        self.reading = reading
        self.tally = counts(agents)
        self.note = note
        self.spent, self.daily, self.warn_at = spent, daily, warn_at
        self.error = ""
        self.refresh()

    def show_error(self, error: str) -> None:
        self.error = error
        self.refresh()

    def zones(self) -> tuple[str, str]:
        if self.reading is None:
            return SAFE, SAFE
        res = self.resources
        return (
            zone_of(self.reading.cpu, res.cpu_safe, res.cpu_danger),
            zone_of(self.reading.ram, res.ram_safe, res.ram_danger),
        )

    def counts_markup(self, *, short: bool) -> str:
        """``2/5 max │ ● 2 working  ? 1 waiting  … 1 queued  ⊘ 1 blocked`` (``short``: no words).

        Leftmost, because toasts appear at the top right: they may hide the meters for a few
        seconds, never how many agents run or wait."""
        working = self.tally[WORKING] + self.tally[STARTING]
        waiting = self.tally[WAITING]
        queued = self.tally[QUEUED]
        blocked = self.tally[BLOCKED]
        gap = " " if short else "  "

        def word(name: str) -> str:
            return "" if short else f" {name}"

        parts = [
            f"[$success]●[/] {working}{word('working')}",
            f"[b $warning]? {waiting}{word('waiting')}[/]" if waiting else f"[dim]?[/] 0{word('waiting')}",
            f"[dim]…[/] {queued}{word('queued')}",
        ]
        if blocked:
            parts.append(f"[$secondary]⊘[/] {blocked}{word('blocked')}")
        if self.tally[HELD]:
            parts.append(f"[dim]‖[/] {self.tally[HELD]}{word('held')}")
        return (
            f"{working + waiting}/{self.max_agents} max [dim]│[/] " + gap.join(parts) + self.spend_markup(short=short)
        )

    def spend_markup(self, *, short: bool) -> str:
        """`` │ $3.20/$20.00 today``: yellow from warn_at of the daily budget, red once it is spent."""
        if self.spent is None:
            return ""
        text = f"${self.spent:,.2f}" + (f"/${self.daily:,.0f}" if self.daily else "") + ("" if short else " today")
        if self.daily and self.spent >= self.daily:
            return f" [dim]│[/] [b $error]{escape(text)} spent[/]"
        if self.daily and self.warn_at and self.spent >= self.warn_at * self.daily:
            return f" [dim]│[/] [b $warning]{escape(text)}[/]"
        return f" [dim]│[/] {escape(text)}"

    def tail_markup(self) -> str:
        if self.error:
            return f"  [b $error]⚠ {escape(self.error)}[/]"
        if self.config_error:
            return "  [b $error]⚠ config.toml refused: last good one in use[/]"
        if self.note:
            return f"  [dim]{escape(self.note)}[/]"
        return ""

    def meters_markup(self, bar_width: int) -> str:
        """CPU and RAM in their zone colours, as bars of ``bar_width`` cells (0: numbers only)."""
        assert self.reading is not None
        cpu_zone, ram_zone = self.zones()
        parts = []
        for label, value, zone in (("CPU", self.reading.cpu, cpu_zone), ("RAM", self.reading.ram, ram_zone)):
            colour = ZONE_COLOUR[zone]
            bold = " b" if zone == DANGER else ""
            meter = ""
            if bar_width:
                full, empty = bar(value, bar_width)
                meter = f" [{colour}]{full}[/][$foreground-muted]{empty}[/]"
            parts.append(f"[b]{label}[/]{meter} [{colour}{bold}]{value:3.0f}%[/]")
        return "  ".join(parts)

    def render(self) -> Content:
        """The counts in words if they fit the left 55% (toasts may cover the rest), else in
        symbols; then the meters as bars, or numbers only. The counts are never cut."""
        width = self.content_region.width or 80
        tail = self.tail_markup()
        counts = self.counts_markup(short=False)
        if Content.from_markup(counts).cell_length > width * 0.55:
            counts = self.counts_markup(short=True)
        if self.error or self.config_error:  # more useful than the meters, and never cut off
            return Content.from_markup(counts + tail)
        if self.reading is None:
            return Content.from_markup(counts + "   [dim]CPU … RAM … measuring[/]" + tail)
        bars = (width - Content.from_markup(counts).cell_length - len("   CPU  100%  RAM  100%")) // 2
        meters = self.meters_markup(min(24, bars) if bars >= 4 else 0)
        return Content.from_markup(counts + "   " + meters + tail)
