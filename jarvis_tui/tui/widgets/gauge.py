"""The header gauge: system CPU and RAM as zone-coloured bars, and the agent counts.

Zones come from ``[resources]`` through the engine's :func:`zone_of`, so the colour on screen
is the same decision admission makes: safe (green), warning (yellow), danger (red).
"""

from __future__ import annotations

from collections import Counter

from textual.content import Content
from textual.markup import escape
from textual.widget import Widget

from ...engine.config import ResourcesConfig
from ...engine.models import BLOCKED, QUEUED, STARTING, WAITING, WORKING, Agent
from ...engine.resources import DANGER, SAFE, SystemReading, zone_of

ZONE_COLOUR = {SAFE: "$success", "warning": "$warning", DANGER: "$error"}


def counts(agents: list[Agent]) -> Counter[str]:
    return Counter(a.status for a in agents)


def bar(value: float, width: int) -> tuple[str, str]:
    """Filled and empty parts of a bar of ``width`` cells for a percentage."""
    filled = round(max(0.0, min(100.0, value)) / 100 * width)
    return "█" * filled, "░" * (width - filled)


class ResourceGauge(Widget):
    """``CPU ████░░ 42%  RAM ██████░ 63%   ● 2 working  ? 1 waiting  … 1 queued  │ 3/5 max``"""

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

    def show(self, reading: SystemReading | None, agents: list[Agent], *, note: str = "") -> None:
        self.reading = reading
        self.tally = counts(agents)
        self.note = note
        self.error = ""
        self.refresh()

    def show_error(self, error: str) -> None:
        self.error = error
        self.refresh()

    def zones(self) -> tuple[str, str]:
        if self.reading is None:
            return SAFE, SAFE
        res = self.resources
        return (zone_of(self.reading.cpu, res.cpu_safe, res.cpu_danger),
                zone_of(self.reading.ram, res.ram_safe, res.ram_danger))

    def render(self) -> Content:
        working = self.tally[WORKING] + self.tally[STARTING]
        waiting = self.tally[WAITING]
        queued = self.tally[QUEUED]
        blocked = self.tally[BLOCKED]
        active = working + waiting
        agents = (f"[$success]●[/] {working} working  "
                  + (f"[b $warning]? {waiting} waiting[/]" if waiting else "[dim]?[/] 0 waiting")
                  + f"  [dim]…[/] {queued} queued"
                  + (f"  [$secondary]⊘[/] {blocked} blocked" if blocked else "")
                  + f"  [dim]│[/] {active}/{self.max_agents} max")
        tail = ""
        if self.error:
            tail = f"  [b $error]⚠ {escape(self.error)}[/]"
        elif self.note:
            tail = f"  [dim]{escape(self.note)}[/]"
        rest = Content.from_markup(agents + tail)
        if self.reading is None:
            return Content.from_markup("[dim]CPU … RAM … measuring[/]  ") + rest
        # Bars take what the counts leave, between 4 and 24 cells each.
        fixed = len("CPU  100%  RAM  100%   ") + rest.cell_length
        width = max(4, min(24, (self.content_region.width - fixed) // 2))
        cpu_zone, ram_zone = self.zones()
        parts = []
        for label, value, zone in (("CPU", self.reading.cpu, cpu_zone), ("RAM", self.reading.ram, ram_zone)):
            full, empty = bar(value, width)
            colour = ZONE_COLOUR[zone]
            bold = " b" if zone == DANGER else ""
            parts.append(f"[b]{label}[/] [{colour}]{full}[/][$foreground-muted]{empty}[/]"
                         f" [{colour}{bold}]{value:3.0f}%[/]")
        return Content.from_markup("  ".join(parts) + "   ") + rest
