"""Every key of the main screen, ONCE: the bindings, the footer, the command palette and the
``?`` help screen are all generated from :data:`ACTIONS`, so they cannot disagree.

A row names the engine rule it needs (:class:`jarvis_tui.engine.lifecycle.Action`); the main
screen asks :func:`jarvis_tui.engine.lifecycle.allowed` about the selected agent to dim the key
and, when it is pressed anyway, to say why not. The dashboard has no rules of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from ..engine.lifecycle import Action, allowed
from ..engine.models import Agent


@dataclass(frozen=True)
class KeyAction:
    keys: str  # Textual key names, comma-separated ("end,ctrl+end")
    action: str  # the action it runs (on the main screen, or the widget of its scope), with arguments
    label: str  # the footer's word for it
    help: str  # one line for the help screen and the command palette
    engine: Action | None = None  # the rule asked of lifecycle.allowed() for the selected agent
    footer: int = 0  # 0: never in the footer; else its rank: the footer drops the highest ranks first
    display: str = ""  # the key as shown ("/", "?"); default: the first key
    scope: str = "screen"  # "screen" | "table" (the agent table's) | "review" (the review screen's)
    #                        | "help" (handled elsewhere: help only)
    palette: bool = True  # offered in the command palette (ctrl+p)
    section: str = "Agents"  # the help screen's heading
    title: str = ""  # the palette's name for it (default: the label)
    force: bool = False  # ask the rule as if forced (merge of a failed agent): its dialog asks again

    @property
    def shown_key(self) -> str:
        return self.display or self.keys.split(",")[0]

    @property
    def palette_title(self) -> str:
        return f"{self.title or self.label} ({self.shown_key})"

    @property
    def name(self) -> str:
        """The action without arguments (what ``check_action`` receives)."""
        return self.action.split("(")[0]


A = KeyAction
ACTIONS: tuple[KeyAction, ...] = (
    A("n", "spawn", "Spawn", "Start an agent on a new worktree and branch", footer=2),
    A("f", "fire", "Fire", "Stop the selected agent with a reason; all its work is preserved", Action.FIRE, footer=3),
    A("s", "send", "Send", "Type a line into the selected agent (e.g. answer its question)", Action.SEND, footer=4),
    A(
        "r",
        "retry",
        "Retry",
        "A new attempt of an ended agent, from the files the last one left",
        Action.RETRY,
        footer=5,
    ),
    A(
        "R",
        "retry(True)",
        "Fresh",
        "A new attempt of an ended agent, fresh from the base commit",
        Action.RETRY,
        footer=13,
        title="Retry fresh from base",
    ),
    A("a", "attach", "Attach", "Open the agent's tmux session; ctrl-q detaches back here", Action.ATTACH, footer=6),
    A(
        "i",
        "details",
        "Info",
        "The agent in full: prompt, attempts, fires, decisions, commits, diff stat",
        Action.DETAILS,
        footer=7,
        title="Details",
    ),
    A("enter", "details", "Info", "Same as i, on a row", Action.DETAILS, scope="help", display="enter", palette=False),
    A("d", "diff", "Diff", "The selected agent's diff against its base", Action.DETAILS),
    A(
        "v",
        "review",
        "Review",
        "Review the agent's work: files, diff, merge preview, check (M merges, c checks)",
        Action.REVIEW,
        footer=11,
    ),
    A(
        "M",
        "merge",
        "Merge",
        "Merge an ended agent's work into the base branch (a dialog: strategy, message, what will change)",
        Action.MERGE,
        footer=15,
        force=True,
    ),
    A(
        "c",
        "check",
        "Check",
        "Run the project's checks ([review] check) on a copy of the agent's files; ✓ or ✗ in the table",
        Action.CHECK,
        footer=16,
        title="Run the checks",
    ),
    A("x", "remove", "Remove", "Clean up an ended agent; its branch and work are kept", Action.REMOVE, footer=8),
    A(
        "u",
        "release",
        "Release",
        "Dispatch a held task (spawned to start held): it joins the queue",
        Action.RELEASE,
        footer=17,
        title="Release a held task",
    ),
    A("g", "grid", "Grid", "Up to six agents' logs side by side (again: back)", footer=11, section="View"),
    A(
        "slash",
        "filter",
        "Filter",
        "Show agents matching words or a status (enter keeps it)",
        footer=9,
        display="/",
        section="View",
    ),
    A("escape", "clear_filter", "Clear", "Clear the filter", display="esc", section="View", title="Clear the filter"),
    A("o", "sort", "Sort", "Sort by the next column (runtime, output, cpu...)", footer=12, section="View"),
    A(
        "O",
        "reverse_sort",
        "Reverse",
        "Reverse the sort (so does a second click on a column's header)",
        section="View",
        title="Reverse the sort",
    ),
    A("j", "cursor_down", "Down", "Next agent (also ↓)", scope="table", palette=False, section="View"),
    A("k", "cursor_up", "Up", "Previous agent (also ↑)", scope="table", palette=False, section="View"),
    A(
        "end,ctrl+end",
        "screen.follow_log",
        "Follow",
        "Follow the log again after scrolling up",
        scope="table",
        display="end",
        section="View",
        title="Follow the log",
    ),
    A(
        "m",
        "metrics",
        "Metrics",
        "Per profile: dispatched, done, failed, fired by reason, success rate, cost",
        footer=14,
        section="View",
    ),
    A(
        "ctrl+r",
        "reload_config",
        "Reload",
        "Read config.toml again (also done by itself when it changes)",
        section="Dashboard",
        title="Reload the config",
    ),
    A(
        "question_mark",
        "help",
        "Help",
        "Every key, this list",
        footer=10,
        display="?",
        section="Dashboard",
        title="Keys (help)",
    ),
    A(
        "ctrl+p",
        "command_palette",
        "Palette",
        "Search every action by name",
        scope="help",
        display="ctrl+p",
        palette=False,
        section="Dashboard",
    ),
    A("q", "quit", "Quit", "Leave the dashboard; the agents keep running in tmux", footer=1, section="Dashboard"),
    # the review screen (v)
    A(
        "escape",
        "back",
        "Back",
        "From the diff: back to the files; from the files: back to the agents",
        footer=1,
        display="esc",
        scope="review",
        section="Review screen (v)",
        palette=False,
    ),
    A("q", "close", "Close", "Back to the agents", scope="review", section="Review screen (v)", palette=False),
    A(
        "M",
        "merge",
        "Merge",
        "Merge this work: strategy, message, what will change",
        Action.MERGE,
        footer=2,
        scope="review",
        section="Review screen (v)",
        force=True,
    ),
    A(
        "c",
        "check",
        "Check",
        "Run the checks on a copy of these files; the result shows in the title",
        Action.CHECK,
        footer=3,
        scope="review",
        section="Review screen (v)",
        title="Run the checks",
    ),
    A(
        "r",
        "reload",
        "Reload",
        "Read the work again (a live agent's files change)",
        footer=4,
        scope="review",
        section="Review screen (v)",
        title="Reload the review",
    ),
    A(
        "right_square_bracket",
        "next_file",
        "Next file",
        "The next file's diff (from either pane)",
        footer=5,
        display="]",
        scope="review",
        section="Review screen (v)",
    ),
    A(
        "left_square_bracket",
        "previous_file",
        "Prev file",
        "The previous file's diff",
        display="[",
        scope="review",
        section="Review screen (v)",
        title="Previous file",
    ),
    A(
        "question_mark",
        "help",
        "Help",
        "Every key",
        footer=6,
        display="?",
        scope="review",
        section="Review screen (v)",
        palette=False,
    ),
    A(
        "tab",
        "focus_next",
        "Switch",
        "Between the file list and the diff (enter on a file opens its diff)",
        scope="help",
        display="tab, enter",
        section="Review screen (v)",
        palette=False,
    ),
    A(
        "j",
        "cursor_down",
        "Down",
        "Files: the next file (also ↓); diff: scroll (also ↓, space/b page, g/G ends)",
        scope="help",
        display="j, k",
        section="Review screen (v)",
        palette=False,
    ),
    A(
        "n",
        "next_stop",
        "Hunk",
        "In the diff: the next hunk or file (N: the previous one); h/l scroll sideways",
        scope="help",
        display="n, N",
        section="Review screen (v)",
        palette=False,
    ),
)
del A

# The rows whose key depends on the selected agent (what the footer dims).
ENGINE_ROWS = tuple(a for a in ACTIONS if a.engine is not None and a.scope != "help")

SECTIONS = ("Agents", "View", "Dashboard", "Review screen (v)")


def bindings(scope: str) -> list[BindingType]:
    """Textual bindings for ``scope``; the footer shows the ranked ones (see KeysFooter)."""
    return [
        Binding(a.keys, a.action, a.label, show=a.footer > 0, key_display=a.display or None)
        for a in ACTIONS
        if a.scope == scope
    ]


def by_name(name: str, scope: str | None = None) -> KeyAction | None:
    """The row of an action (``check_action`` gets names without arguments: ``retry``);
    ``scope`` picks a screen's own row when two screens share a name (``merge``)."""
    return next((a for a in ACTIONS if a.name == name and a.scope != "help" and scope in (None, a.scope)), None)


def by_key(key: str, scope: str = "screen") -> KeyAction | None:
    """A screen's row for a pressed key (Textual's key name: ``x``, ``R``, ``slash``)."""
    return next((a for a in ACTIONS if a.scope == scope and key in a.keys.split(",")), None)


def footer_rank(action: str, scope: str | None = None) -> int:
    """The footer rank of a binding's action string ("retry(True)"); 0 if it has none."""
    return next((a.footer for a in ACTIONS if a.action == action and a.scope != "help" and scope in (None, a.scope)), 0)


def palette_entries(scopes: tuple[str, ...] = ("screen", "table")) -> list[KeyAction]:
    return [a for a in ACTIONS if a.palette and a.scope in scopes]


def refusal(row: KeyAction, agent: Agent | None) -> str | None:
    """Why ``row`` cannot act on ``agent`` now (None: it can, or it needs no agent)."""
    if row.engine is None:
        return None
    if agent is None:
        return "no agent selected (n spawns one)"
    return allowed(agent, row.engine, force_ended=row.force)
