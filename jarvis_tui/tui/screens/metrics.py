"""``m``: per-profile metrics, the dashboard's face of ``jarvis stats``.

One row per profile (configured ones even before they ran anything, dimmed), a totals row,
and what fired agents were fired for. The numbers come from the engine's
:func:`~jarvis_tui.engine.metrics.profile_stats`; this screen only lays them out.

The registry is read in a thread worker every couple of seconds while the screen is open
(each read schedules the next, so slow reads never pile up); a failed read is shown on the
screen and retried, never raised.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from ...engine.metrics import profile_stats
from ...engine.supervisor import Supervisor
from ...format import duration, money

REFRESH = 2.0  # seconds between reads while the screen is open

# Short labels so the whole table fits 80 columns; the legend under it spells them out.
COLUMNS = ("profile", "disp", "run", "queued", "done", "fail", "fired", "ok", "median/mean", "hours", "usd")
LEGEND = (
    "disp: attempts dispatched (retries included) · run: running now · ok: done ÷ ended · "
    "median/mean: start to done · usd: priced from the agents' transcripts (~: estimated as "
    "cost_weight × hours) · dimmed: no agents yet"
)
COUNTS = ("dispatched", "retries", "running", "queued", "blocked", "done", "failed", "fired")
TOTAL = "total"


def is_idle(row: dict[str, Any]) -> bool:
    """A profile nothing was ever asked of (configured, shown dimmed)."""
    return not any(row[key] for key in COUNTS)


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows summed. The mean time to done is weighted by each profile's done count; a
    median cannot be made from medians, so the total has none."""
    total: dict[str, Any] = {key: sum(row[key] for row in rows) for key in COUNTS}
    sources = {row["cost_source"] for row in rows if row["cost_source"]}
    total.update(
        profile=TOTAL,
        hours=sum(row["hours"] for row in rows),
        cost=sum(row["cost"] for row in rows),
        cost_usd=sum(row["cost_usd"] for row in rows),
        cost_source=("estimate" if "estimate" in sources else "transcript") if sources else None,
        median_time_to_done=None,
        fired_by_reason=merged_reasons(rows),
    )
    ended = total["done"] + total["failed"] + total["fired"]
    total["success_rate"] = total["done"] / ended if ended else None
    timed = [(row["mean_time_to_done"], row["done"]) for row in rows if row["mean_time_to_done"] is not None]
    weight = sum(done for _, done in timed)
    total["mean_time_to_done"] = sum(mean * done for mean, done in timed) / weight if weight else None
    return total


def merged_reasons(rows: list[dict[str, Any]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for row in rows:
        for reason, count in row["fired_by_reason"].items():
            merged[reason] = merged.get(reason, 0) + count
    return merged


def reasons_text(by_reason: dict[str, int]) -> str:
    """``derailed 2 · timeout 1``: most frequent first, then by name."""
    ordered = sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(f"{reason} {count}" for reason, count in ordered)


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def cells(row: dict[str, Any], *, style: str = "") -> list[Text]:
    if row["median_time_to_done"] is None and row["mean_time_to_done"] is None:
        to_done = "-"
    else:
        to_done = f"{duration(row['median_time_to_done'])}/{duration(row['mean_time_to_done'])}"
    values = (
        row["dispatched"],
        row["running"],
        row["queued"],
        row["done"],
        row["failed"],
        row["fired"],
        rate(row["success_rate"]),
        to_done,
        f"{row['hours']:.2f}",
        money(row["cost_usd"] if row["cost_source"] else None, row["cost_source"]),
    )
    return [Text(str(row["profile"]), style=style)] + [Text(str(v), style=style, justify="right") for v in values]


def breakdown(rows: list[dict[str, Any]]) -> RenderableType:
    """Fired by reason, per profile that fired anything (and all together if several did)."""
    fired = [row for row in rows if row["fired_by_reason"]]
    if not fired:
        return Text("Fired by reason: nothing was fired", style="dim")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for row in fired:
        grid.add_row(Text(str(row["profile"])), Text(reasons_text(row["fired_by_reason"]), style="red"))
    if len(fired) > 1:
        grid.add_row(Text("all"), Text(reasons_text(merged_reasons(fired)), style="red"))
    return Group(Text("Fired by reason", style="bold underline"), grid)


class MetricsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q,m", "back", "Back"),  # q closes this view; it never quits from here
        Binding("r", "reload", "Reload"),
    ]

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]] | None, error: str = "") -> None:
            super().__init__()
            self.rows = rows
            self.error = error

    def __init__(self, sup: Supervisor, *, refresh: float = REFRESH) -> None:
        super().__init__()
        self.sup = sup
        self.refresh_every = refresh
        self.rows: list[dict[str, Any]] | None = None
        self.error = ""
        self.loads = 0  # reads that came back (tests wait on it)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("Metrics", "bold"),
                f"  per profile, every attempt (removed agents too) · refreshed every {self.refresh_every:g} s",
            ),
            id="metrics-title",
        )
        yield DataTable(id="metrics-table", cursor_type="none", zebra_stripes=False)
        yield Static("", id="metrics-error")
        yield Static(Text("loading…", style="dim"), id="metrics-fired")
        yield Static(Text(LEGEND, style="dim"), id="metrics-legend")
        yield Footer()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#metrics-table", DataTable)

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.table.add_column(Text(label, justify="left" if label == "profile" else "right"), key=label)
        self.query_one("#metrics-error", Static).display = False
        self.table.focus()
        self.load()

    # ------------------------------------------------------------------ reading

    @work(thread=True, exit_on_error=False, group="metrics", exclusive=True)
    def load(self) -> None:
        try:
            rows = profile_stats(self.sup.registry, self.sup.config, now=self.sup.clock())
        except Exception as exc:  # noqa: BLE001 - registry locked or gone: said on screen, tried again
            self.post_message(self.Loaded(None, f"could not read the registry: {exc or type(exc).__name__}"))
        else:
            self.post_message(self.Loaded(rows))
        finally:
            self.sup.registry.close()  # this thread's connection

    def on_metrics_screen_loaded(self, message: Loaded) -> None:
        self.loads += 1
        try:
            self.error = message.error
            error = self.query_one("#metrics-error", Static)
            error.display = bool(message.error)
            error.update(Text(message.error, style="bold red"))
            if message.rows is not None and message.rows != self.rows:
                self.rows = message.rows
                self.show(message.rows)
        except Exception as exc:  # noqa: BLE001 - a display bug: shown here, the next read tries again
            self.error = f"{type(exc).__name__}: {exc}"
            self.query_one("#metrics-error", Static).update(Text(self.error, style="bold red"))
            self.query_one("#metrics-error", Static).display = True
        finally:
            self.schedule_load()

    def schedule_load(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.refresh_every, self.load)

    # ------------------------------------------------------------------ showing

    def show(self, rows: list[dict[str, Any]]) -> None:
        table = self.table
        scroll = table.scroll_offset
        table.clear()
        for row in rows:
            table.add_row(*cells(row, style="dim" if is_idle(row) else ""), key=str(row["profile"]))
        table.add_row(*cells(totals(rows), style="bold"), key=f"\0{TOTAL}")  # never a profile's key
        table.scroll_to(scroll.x, scroll.y, animate=False)
        self.query_one("#metrics-fired", Static).update(breakdown(rows))

    def row_text(self, profile: str) -> list[str]:
        """One profile's row as shown (``total`` for the totals row)."""
        key = f"\0{TOTAL}" if profile == TOTAL else profile
        return [cell.plain for cell in self.table.get_row(key)]

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()
