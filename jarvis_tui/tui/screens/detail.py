"""``enter``/``i``: one agent in full. Prompt, attempts and exit codes, fires with reasons and
notes, the engine's policy decisions, commits on the branch, diff stat against base; ``d``
shows the diff itself.

Every git and registry call runs in a worker; the screen shows "loading" until the facts
arrive and an error line if git fails. ``r`` reads everything again, the agent's own record
included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, RichLog, Static

from ...describe import fact_rows, listed, marks, note_lines
from ...engine.git import worktrees
from ...engine.models import Agent
from ...engine.supervisor import Supervisor
from ...format import ago, status_style

MAX_DIFF_LINES = 20_000


@dataclass
class DetailData:
    agent: Agent | None = None  # the record as read now (None: the registry could not be read)
    details: dict[str, Any] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the task's "policy" events
    commits: list[dict[str, Any]] = field(default_factory=list)
    stat: str = ""
    diff_what: str = ""
    shared: list[dict[str, Any]] = field(default_factory=list)  # Supervisor.shared_with: overlaps' paths
    errors: list[str] = field(default_factory=list)


def diff_target(sup: Supervisor, agent: Agent) -> tuple[str, str | None, str] | None:
    """(base, head, description) of the agent's work; head None means its live worktree files.

    A live worktree: its files, committed or not. Otherwise the preserved ref (every file
    the agent left) or else its branch.
    """
    base = agent.base_commit
    if not base:
        return None
    if agent.worktree and Path(agent.worktree).is_dir():
        return base, None, f"worktree files against base {base[:8]}"
    for head in (agent.preserved_ref, agent.branch):
        if head and worktrees.ref_exists(sup.repo, head):
            return base, head, f"{head} against base {base[:8]}"
    return None


def diff_text(sup: Supervisor, agent: Agent, target: tuple[str, str | None, str], *, stat: bool) -> str:
    base, head, _ = target
    if head is None:
        return worktrees.diff(Path(agent.worktree or ""), base, stat=stat)
    return worktrees.diff_range(sup.repo, base, head, stat=stat)


def grid_section(parts: list[Any], title: str, rows: list[tuple[Any, ...]] | None, *, empty: str) -> None:
    """A titled section of aligned rows; ``rows`` None while still loading."""
    parts.append(Text(f"\n{title}", style="bold underline"))
    if rows is None:
        parts.append(Text("loading…", style="dim"))
    elif rows:
        table = Table.grid(padding=(0, 2))
        for row in rows:
            table.add_row(*row)
        parts.append(table)
    else:
        parts.append(Text(empty, style="dim"))


def overlap_section(parts: list[Any], agent: Agent, data: DetailData | None) -> None:
    """Which live agents touch the same files (and which files), and what it wrote outside
    its scope; nothing when there is neither."""
    if "overlap" in marks(agent):
        grid_section(
            parts,
            "Same files as",
            None
            if data is None
            else [
                (
                    Text(row["agent"], style="bold"),
                    Text(listed(row["paths"], 8)),
                    Text(
                        f"would conflict in {listed(row['conflicting_paths'], 4)}"
                        if row["conflict"]
                        else "would merge cleanly",
                        style="red" if row["conflict"] else "dim",
                    ),
                )
                for row in data.shared
            ],
            empty=f"{', '.join(agent.overlaps)} (no shared file any more)",
        )
    if agent.out_of_scope:
        grid_section(
            parts,
            f"Outside its scope ({', '.join(agent.scope)})",
            [(Text(path, style="yellow"),) for path in agent.out_of_scope],
            empty="",
        )


def load_details(sup: Supervisor, agent: Agent) -> DetailData:
    data = DetailData()
    try:
        agent = data.agent = sup.registry.get(agent.id)
        data.details = sup.details(agent)
        data.decisions = sup.registry.events(task_id=agent.task_id, kinds=("policy",), limit=50, newest=True)
    except Exception as exc:  # noqa: BLE001 - git or registry trouble: show what we have
        data.errors.append(f"details: {exc}")
        data.details = agent.to_json() | {"prompt": agent.prompt, "attempts": []}
    try:
        if agent.base_commit and agent.branch and worktrees.ref_exists(sup.repo, agent.branch):
            data.commits = worktrees.log(sup.repo, agent.base_commit, agent.branch)
        data.shared = sup.shared_with(agent) if "overlap" in marks(agent) else []
        target = diff_target(sup, agent)
        if target is not None:
            data.diff_what = target[2]
            data.stat = diff_text(sup, agent, target, stat=True)
    except Exception as exc:  # noqa: BLE001 - git trouble: show what we have
        data.errors.append(f"git: {exc}")
    return data


def diff_lines(text: str) -> list[Text]:
    styles = (("+++", "bold"), ("---", "bold"), ("diff ", "bold cyan"), ("@@", "cyan"), ("+", "green"), ("-", "red"))
    out = []
    for line in text.splitlines()[:MAX_DIFF_LINES]:
        style = next((s for prefix, s in styles if line.startswith(prefix)), "")
        out.append(Text(line, style=style))
    return out


class DetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("d", "toggle_diff", "Diff"),
        Binding("r", "reload", "Reload"),
    ]

    class Loaded(Message):
        def __init__(self, data: DetailData) -> None:
            super().__init__()
            self.data = data

    class DiffLoaded(Message):
        def __init__(self, lines: list[Text], error: str = "") -> None:
            super().__init__()
            self.lines = lines
            self.error = error

    def __init__(self, sup: Supervisor, agent: Agent, *, now: float, show_diff: bool = False) -> None:
        super().__init__()
        self.sup = sup
        self.agent = agent
        self.now = now
        self.show_diff = show_diff
        self.diff_loaded = False
        self.data: DetailData | None = None
        self.diff_shown: list[str] | None = None  # the diff pane's lines as plain text, once loaded

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), id="detail-title")
        with ContentSwitcher(initial="overview", id="detail-switcher"):
            with VerticalScroll(id="overview"):
                yield Static(self.overview(None), id="overview-body")
            yield RichLog(id="diff", wrap=False, highlight=False, markup=False, max_lines=MAX_DIFF_LINES)
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        if self.show_diff:
            self.action_toggle_diff()

    # ------------------------------------------------------------------ workers

    @work(thread=True, exit_on_error=False, group="detail")
    def load(self) -> None:
        try:
            self.post_message(self.Loaded(load_details(self.sup, self.agent)))
        finally:
            self.sup.registry.close()

    @work(thread=True, exit_on_error=False, group="detail-diff")
    def load_diff(self) -> None:
        try:
            target = diff_target(self.sup, self.agent)
            if target is None:
                self.post_message(self.DiffLoaded([], "no diff: the agent never started, or its branch is gone"))
                return
            diff = diff_text(self.sup, self.agent, target, stat=False)
            lines = [Text(f"# {target[2]}", style="dim")] + diff_lines(diff)
            self.post_message(self.DiffLoaded(lines))
        except Exception as exc:  # noqa: BLE001 - the diff is shown as an error, the view lives on
            self.post_message(self.DiffLoaded([], f"git diff failed: {exc}"))
        finally:
            self.sup.registry.close()

    def on_detail_screen_loaded(self, message: Loaded) -> None:
        self.data = message.data
        if message.data.agent is not None:
            self.agent = message.data.agent
            self.now = self.sup.clock()
            self.query_one("#detail-title", Static).update(self.title_text())
        self.query_one("#overview-body", Static).update(self.overview(message.data))

    def on_detail_screen_diff_loaded(self, message: DiffLoaded) -> None:
        self.diff_shown = [line.plain for line in message.lines] or [message.error]
        log = self.query_one("#diff", RichLog)
        log.clear()
        if message.error:
            log.write(Text(message.error, style="bold red"))
        elif len(message.lines) <= 1:
            log.write(Text("no changes against base", style="dim"))
        else:
            log.write(Text("\n").join(message.lines))
        log.scroll_home(animate=False)

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_diff(self) -> None:
        switcher = self.query_one("#detail-switcher", ContentSwitcher)
        if switcher.current == "diff":
            switcher.current = "overview"
            return
        switcher.current = "diff"
        if not self.diff_loaded:
            self.diff_loaded = True
            self.query_one("#diff", RichLog).write(Text("loading diff…", style="dim"))
            self.load_diff()
        self.query_one("#diff", RichLog).focus()

    def action_reload(self) -> None:
        self.diff_loaded = False
        self.load()
        if self.query_one("#detail-switcher", ContentSwitcher).current == "diff":
            self.query_one("#detail-switcher", ContentSwitcher).current = "overview"
            self.action_toggle_diff()

    # ------------------------------------------------------------------ rendering

    def title_text(self) -> Text:
        style, symbol = status_style(self.agent.status)
        return Text.assemble(
            (self.agent.id, "bold"),
            "  ",
            (f"{symbol} {self.agent.status}", style),
            "  ",
            " ".join(self.agent.title.split()),
        )

    def overview(self, data: DetailData | None) -> RenderableType:
        # Text the agent or the user wrote (reasons, notes, commit subjects) goes in as Text:
        # a plain str in a rich Table is markup, where "[y/N]" vanishes and "[/x]" raises.
        a = self.agent
        now = self.now
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="dim", no_wrap=True)
        facts.add_column()
        d = data.details if data else {}
        for key, value in fact_rows(a, data.details if data else None, socket=self.sup.tmux.socket, now=now):
            facts.add_row(key, Text(value))
        parts: list[RenderableType] = [facts]
        overlap_section(parts, a, data)

        parts += [Text("\nPrompt", style="bold underline"), Text(a.prompt.rstrip() or "(empty)")]

        parts.append(Text("\nAttempts", style="bold underline"))
        attempts = d.get("attempts") if data else None
        if attempts:
            table = Table(box=None, pad_edge=False, header_style="dim", expand=False)
            for column in ("#", "id", "status", "exit", "reason"):
                table.add_column(column, no_wrap=column != "reason")
            for at in attempts:
                style, symbol = status_style(at["status"])
                table.add_row(
                    str(at["attempt"]),
                    at["id"],
                    Text(f"{symbol} {at['status']}", style=style),
                    "-" if at["exit_code"] is None else str(at["exit_code"]),
                    Text(at["status_reason"] or ""),
                )
            parts.append(table)
        else:
            parts.append(Text("loading…" if data is None else "-", style="dim"))

        parts.append(Text("\nFires", style="bold underline"))
        fires = (
            [(at["id"], f) for at in (attempts or []) for f in at["fires"]]
            if attempts
            else [(a.id, f.to_json()) for f in a.fires]
        )
        if fires:
            table = Table(box=None, pad_edge=False, header_style="dim")
            for column in ("attempt", "reason", "note", "work kept at"):
                table.add_column(column)
            for attempt_id, fire in fires:
                reason = fire["reason"] + (" (auto)" if fire.get("automatic") else "")
                table.add_row(attempt_id, Text(reason, style="red"), Text(fire["note"] or ""), Text(fire["ref"] or "-"))
            parts.append(table)
        else:
            parts.append(Text("never fired", style="dim"))

        grid_section(
            parts,
            "Findings (jarvis note)",
            None
            if data is None
            else [
                (Text(when, style="dim"), Text(who), Text(text))
                for when, who, text in note_lines(d.get("notes", []), now)
            ],
            empty="none recorded",
        )
        grid_section(
            parts,
            "Policy decisions",
            None
            if data is None
            else [
                (
                    Text(ago(event["at"], now), style="dim"),
                    event["attempt_id"] or "-",
                    Text(str(event["data"].get("decision", "")), style="yellow"),
                    Text(str(event["data"].get("note", ""))),
                )
                for event in data.decisions
            ],
            empty="none (no automatic retry, fire or stall flag)",
        )
        grid_section(
            parts,
            "Commits on the branch",
            None
            if data is None
            else [
                (
                    Text(str(commit["sha"]), style="yellow"),
                    Text(str(commit["subject"])),
                    Text(ago(float(commit["at"]), now), style="dim"),
                )
                for commit in data.commits
            ],
            empty="none",
        )

        parts.append(
            Text("\nDiff stat" + (f" ({data.diff_what})" if data and data.diff_what else ""), style="bold underline")
        )
        if data is None:
            parts.append(Text("loading…", style="dim"))
        else:
            parts.append(Text(data.stat or "no changes", style="" if data.stat else "dim"))
            parts.append(Text("press d for the diff", style="dim"))
        if data and data.errors:
            parts.append(Text("\n" + "\n".join(data.errors), style="bold red"))
        return Group(*parts)
