"""``v``: review an agent's work before merging it, like a pull request.

Left, the files it changed (committed and uncommitted) with their status and +/-, "All
files" first; right, the selected file's diff: coloured by its language, line numbers, hunk
headers, added and removed rows filled like GitHub's ("All files": its commits, then every
file). The title says whether the work merges into the base branch's CURRENT tip and what
its check said. ``M`` merges (the dialog), ``c`` runs the checks, ``r`` reads it all again.

All git work is one worker per (re)load: the engine's review, the patch, and its parse into
rows (:mod:`..diffs`); the diff pane draws only the rows on screen (:class:`DiffView`). A
10,000-line diff opens as fast as git prints it and scrolls like a short one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...engine import reviewing
from ...engine.errors import SupervisorError
from ...engine.git.review import FileChange, FileStatus, Review
from ...engine.models import ACTIVE, Agent, iso
from ...engine.supervisor import Supervisor
from ...format import ago, one_line, status_style
from ..actions import bindings, by_key, by_name, refusal
from ..diffs import STATUS_LETTER, DiffDocument
from ..messages import MergeFinished
from ..patches import parse
from ..verdicts import check_text, preview_text, warnings_text
from ..widgets.diff_view import DiffView
from ..widgets.footer import KeysFooter
from .help import HelpScreen

if TYPE_CHECKING:
    from ..app import JarvisApp

LETTER_STYLE = {"A": "bold green", "D": "bold red", "R": "bold cyan", "C": "bold cyan", "M": "bold yellow"}
ALL = "all"


def clip_path(path: str, width: int) -> str:
    """``src/…/deep/name.py``: a path cut in the middle, its file name kept whole."""
    if len(path) <= width:
        return path
    name = path.rsplit("/", 1)[-1]
    if len(name) + 2 >= width:
        return "…" + path[-(width - 1) :] if width > 1 else "…"
    head = width - len(name) - 2
    return path[:head] + "…/" + name


def rename_label(old: str, new: str, *, short: bool = False) -> str:
    """``config/{defaults.toml → settings.toml}``: what a rename changed, as git's stat says it
    (``short``: ``config/{… → settings.toml}``, the new name whole)."""
    old_parts, new_parts = old.split("/"), new.split("/")
    head = 0
    while head < min(len(old_parts), len(new_parts)) - 1 and old_parts[head] == new_parts[head]:
        head += 1
    tail = 0
    while tail < min(len(old_parts), len(new_parts)) - head - 1 and old_parts[-1 - tail] == new_parts[-1 - tail]:
        tail += 1
    prefix = "/".join(old_parts[:head])
    suffix = "/".join(old_parts[len(old_parts) - tail :]) if tail else ""
    was = "…" if short else "/".join(old_parts[head : len(old_parts) - tail])
    middle = f"{{{was} → {'/'.join(new_parts[head : len(new_parts) - tail])}}}"
    return (f"{prefix}/" if prefix else "") + middle + (f"/{suffix}" if suffix else "")


def counts(added: int | None, deleted: int | None) -> Text:
    if added is None:
        return Text("bin", style="dim")
    return Text.assemble((f"+{added}", "green"), " ", (f"-{deleted}", "red"))


def file_prompt(change: FileChange, width: int) -> Text:
    """``M src/app.py      +10 -2``: the status letter, the path clipped to fit, the counts."""
    letter = STATUS_LETTER.get(str(change.status), "?")
    right = counts(change.added, change.deleted)
    room = max(4, width - 2 - right.cell_len - 1)
    name = change.path
    if change.old_path:
        name = rename_label(change.old_path, change.path)
        if len(name) > room:
            name = rename_label(change.old_path, change.path, short=True)
    path = clip_path(name, room)
    return Text.assemble(
        (letter, LETTER_STYLE.get(letter, "bold")),
        " ",
        path,
        " " * max(1, width - 2 - len(path) - right.cell_len),
        right,
        no_wrap=True,
        end="",
    )


def head_rows(found: Review, now: float) -> list[Text]:
    """What the whole-patch view shows above the files: its commits, and a word on snapshots."""
    rows = [
        Text(f"{len(found.commits)} commit{'s' if len(found.commits) != 1 else ''} ahead of {found.into}", style="bold")
    ]
    for commit in found.commits:
        rows.append(
            Text.assemble(
                "  ",
                (commit.sha[:10], "yellow"),
                "  ",
                commit.subject,
                "  ",
                (f"{commit.author}, {ago(commit.at, now)}", "dim"),
                no_wrap=True,
                end="",
            )
        )
    if found.uncommitted:
        rows.append(Text("  + files it has not committed (read from a snapshot; nothing was changed)", style="yellow"))
    rows.append(Text(""))
    return rows


class FileList(OptionList):
    BINDINGS = [Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]


class ReviewScreen(Screen[None]):
    CSS_PATH = "review.tcss"
    BINDINGS = bindings("review")

    class Loaded(Message):
        def __init__(self, generation: int, agent: Agent, found: Review, document: DiffDocument, thread: str) -> None:
            super().__init__()
            self.generation, self.agent, self.found, self.document, self.thread = (
                generation,
                agent,
                found,
                document,
                thread,
            )

    class Failed(Message):
        def __init__(self, generation: int, error: str) -> None:
            super().__init__()
            self.generation, self.error = generation, error

    def __init__(self, sup: Supervisor, agent: Agent, *, cli: str = "jarvis") -> None:
        super().__init__()
        self.sup = sup
        self.agent = agent
        self.cli = cli
        self.found: Review | None = None
        self.document: DiffDocument | None = None
        self.error = ""
        self.loads = 0
        self.generation = 0  # a thread worker cannot be stopped: an older load's answer is dropped
        self.built_in = ""  # the thread that parsed the patch (never the UI's)
        self._seen: tuple[object, ...] = ()

    @property
    def jarvis(self) -> JarvisApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(self.head(), id="review-head")
        with Horizontal(id="review-body"):
            yield FileList(id="files", compact=True)
            yield DiffView(id="diff")
        yield KeysFooter(scope="review")

    @property
    def files(self) -> FileList:
        return self.query_one("#files", FileList)

    @property
    def diff(self) -> DiffView:
        return self.query_one("#diff", DiffView)

    def on_mount(self) -> None:
        self.files.border_title = "Files"
        self.diff.border_title = "Diff"
        self.diff.say("reading its work…")
        self.files.focus()
        self.load(self.generation)
        self.set_interval(1.0, self.follow_record)

    # ------------------------------------------------------------------ loading

    @work(thread=True, exit_on_error=False, group="review")
    def load(self, generation: int) -> None:
        try:
            agent, found = self.sup.review(self.agent.id)
            patch = reviewing.patch(self.sup, found)
            document = parse(
                patch,
                found.files,
                head=head_rows(found, self.sup.clock()),
                whole=f"the whole patch: {self.cli} review {agent.id} --diff",
            )
            self.post_message(self.Loaded(generation, agent, found, document, threading.current_thread().name))
        except SupervisorError as exc:
            self.post_message(self.Failed(generation, str(exc)))
        except Exception as exc:  # noqa: BLE001 - git trouble: said on the screen, never a dead app
            self.post_message(self.Failed(generation, f"{type(exc).__name__}: {exc}"))
        finally:
            self.sup.registry.close()  # this thread's connection

    def on_review_screen_loaded(self, message: Loaded) -> None:
        if message.generation != self.generation:
            return
        keep = self.selected_path
        self.agent, self.found, self.document = message.agent, message.found, message.document
        self.built_in, self.error = message.thread, ""
        self.loads += 1
        self.fill_files(keep)
        self.update_head()
        self.refresh_bindings()

    def on_review_screen_failed(self, message: Failed) -> None:
        if message.generation != self.generation:
            return
        self.error = message.error
        self.loads += 1
        self.diff.say(message.error)
        self.update_head()

    def on_merge_finished(self, message: MergeFinished) -> None:
        """Merged: the files stay as reviewed (the branch may be gone now); the title says so
        once the next tick brings the record."""
        if message.merged:
            self.jarvis.start_tick()

    def action_reload(self) -> None:
        self.generation += 1
        self.diff.say("reading its work again…")
        self.load(self.generation)

    # ------------------------------------------------------------------ the files

    @property
    def selected_path(self) -> str | None:
        option = self.files.highlighted_option
        if option is None or option.id in (None, ALL) or self.document is None:
            return None
        return self.document.files[int(option.id)].path

    def fill_files(self, keep: str | None = None) -> None:
        """The file list for this width; the cursor stays on the file it was on."""
        if self.document is None or self.found is None:
            return
        files = self.files
        width = max(16, files.scrollable_content_region.width - 1)
        total_added = sum(f.added or 0 for f in self.found.files)
        total_deleted = sum(f.deleted or 0 for f in self.found.files)
        everything = Text.assemble(("≡", "bold"), " All files", no_wrap=True, end="")
        options = [Option(everything, id=ALL)]
        at = 0
        for patch in self.document.files:
            change = patch.change or FileChange(patch.path, FileStatus.MODIFIED)
            options.append(Option(file_prompt(change, width), id=str(patch.index)))
            if patch.path == keep:
                at = len(options) - 1
        files.clear_options()
        files.add_options(options)
        files.border_title = f"Files {len(self.document.files)}"
        files.border_subtitle = Text.assemble(counts(total_added, total_deleted))
        files.highlighted = at
        self.show_file(at)

    @on(OptionList.OptionHighlighted, "#files")
    def file_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_file(event.option_index)

    @on(OptionList.OptionSelected, "#files")
    def file_chosen(self) -> None:
        self.diff.focus()

    def show_file(self, index: int) -> None:
        if self.document is None:
            return
        if not self.document.files:
            self.diff.say(f"no changes against {self.found.into if self.found else 'its base'}: nothing to merge")
            return
        view = self.document.view(None if index == 0 else index - 1)
        self.diff.show(self.document, view)
        self.diff.border_title = Text(view.title)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.fill_files, self.selected_path)

    # ------------------------------------------------------------------ the title

    def head(self) -> Text:
        a = self.agent
        style, symbol = status_style(a.status)
        text = Text.assemble(
            (a.id, "bold"), "  ", (f"{symbol} {a.status}", style), "  ", one_line(a.title, 70), no_wrap=True, end=""
        )
        text.append("\n")
        found = self.found
        if a.merged_at is not None:
            commit = f" as {a.merge_commit[:12]}" if a.merge_commit else ""
            text.append(f"⇥ merged into {a.merged_into}{commit}, {ago(a.merged_at, self.sup.clock())}", style="blue")
            if found is not None:
                text.append("  ·  the files below are the work as it was reviewed", style="dim")
        elif self.error:
            text.append(f"✗ {self.error}", style="bold red")
        elif found is None:
            text.append("reading its work…", style="dim")
        else:
            plural = "s" if len(found.commits) != 1 else ""
            text.append_text(preview_text(found.preview))
            text.append("  ·  ")
            text.append_text(check_text(a))
            text.append(f"  ·  {len(found.commits)} commit{plural}, {len(found.files)} files", style="dim")
        notes = warnings_text(a)
        extra = []
        if a.status in ACTIVE:
            extra.append(Text(f"{a.status}: its files keep changing (r reads them again)", style="dim"))
        if found is not None and found.uncommitted:
            extra.append(Text("uncommitted files included", style="yellow"))
        if notes is not None or extra:
            text.append("\n")
            text.append_text(Text("  ·  ").join([t for t in (notes, *extra) if t is not None]))
        return text

    def update_head(self) -> None:
        self.query_one("#review-head", Static).update(self.head())

    def follow_record(self) -> None:
        """The agent as the last engine tick saw it: a check that ended, a new overlap, a
        merge done elsewhere show in the title (its files are read again only on ``r``)."""
        agent = self.jarvis.agents.get(self.agent.id)
        if agent is None:
            return
        seen = (agent.status, agent.check, tuple(agent.overlaps), tuple(agent.out_of_scope), iso(agent.merged_at))
        if seen != self._seen:
            self._seen = seen
            self.agent = agent
            self.update_head()
            self.refresh_bindings()

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = by_name(action, "review")
        if row is not None and refusal(row, self.agent):
            return None  # dimmed; pressing it says why (on_key)
        return True

    def on_key(self, event: events.Key) -> None:
        row = by_key(event.key, "review")
        why = refusal(row, self.agent) if row is not None else None
        if why:
            event.stop()
            self.jarvis.say(why, severity="warning")

    def action_back(self) -> None:
        if self.diff.has_focus:
            self.files.focus()
        else:
            self.dismiss()

    def action_close(self) -> None:
        self.dismiss()

    def action_next_file(self, step: int = 1) -> None:
        files = self.files
        if files.option_count:
            files.highlighted = max(0, min(files.option_count - 1, (files.highlighted or 0) + step))

    def action_previous_file(self) -> None:
        self.action_next_file(-1)

    def action_merge(self) -> None:
        self.jarvis.main.calls.open_merge(self.agent, self.found, reply_to=self)

    def action_check(self) -> None:
        self.jarvis.main.calls.check(self.agent.id)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())


__all__ = ["FileList", "ReviewScreen", "clip_path", "file_prompt", "rename_label"]
