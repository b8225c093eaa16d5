"""``M``: the merge dialog. What the preview says, a strategy, an optional message, the options,
and what WILL happen, then ``enter`` merges.

"What will happen" is the engine's own dry run (:meth:`Supervisor.merge` with ``dry_run``),
run again in a worker whenever the strategy or an option changes: the outcome (fast-forward,
merge commit, squash, rebase), the files that change, a conflict with its paths or the
reason it would be refused. The dialog returns a :class:`MergeRequest`; the caller merges
(engine_calls.py), exactly what ``jarvis merge`` does.

Dry runs and the merge each claim the agent, and a claim of this process is always "live":
so they never overlap. A change while a dry run is under way waits for it, and ``enter``
pressed meanwhile merges once it has finished.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...describe import listed
from ...engine.errors import SupervisorError
from ...engine.git.review import Review
from ...engine.merging import MergeConflict, Merged
from ...engine.models import FAILED, FIRED, Agent
from ...engine.supervisor import Supervisor
from ..verdicts import check_text, preview_text
from . import subject

STRATEGIES = {  # engine strategy -> what it does (the dialog's words)
    "merge": "fast-forward when possible, else a merge commit",
    "squash": "one new commit with all of its changes",
    "rebase": "its commits replayed one by one onto {into}",
    "no-ff": "always a merge commit",
}
OUTCOME = {  # a dry run's outcome -> the plan's first words
    "fast-forward": "{into} moves forward to its work (fast-forward)",
    "merge commit": "a merge commit on {into}",
    "squash": "one squashed commit on {into}",
    "rebase": "its commits replayed onto {into}",
}


@dataclass(frozen=True)
class MergeRequest:
    strategy: str = "merge"
    message: str | None = None
    include_uncommitted: bool = False
    force_ended: bool = False
    delete_branch: bool = False


@dataclass
class Plan:
    """One dry run's answer: ``merged`` (what would happen) or ``error`` (and conflict paths)."""

    request: MergeRequest
    review: Review | None
    merged: Merged | None = None
    error: str = ""
    conflicts: list[str] | None = None


def plan_text(plan: Plan, agent: Agent) -> Text:
    """The dry run in words: the outcome, files, where, then what happens to the agent."""
    if plan.conflicts is not None:
        return Text.assemble(
            ("✗ ", "bold red"),
            (f"{plan.error}\n", "red"),
            (
                "enter tries anyway: nothing changes, and you can retry the agent with the conflict as its context",
                "dim",
            ),
        )
    if plan.merged is None:
        return Text.assemble(("✗ ", "bold red"), (plan.error or "no answer", "red"))
    result = plan.merged.result
    into = result.into
    if str(result.outcome) == "already merged":
        return Text(f"nothing to merge: {into} already has this work; the agent is marked merged", style="blue")
    head = OUTCOME.get(str(result.outcome), str(result.outcome)).format(into=into)
    files = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
    where = (
        f"the checkout of {into} is updated"
        if result.where is not None
        else f"only refs/heads/{into} moves (not checked out)"
    )
    text = Text.assemble(("✓ ", "bold green"), (f"{head}: {files} change", "bold"), f"; {where}\n")
    if result.files:
        text.append(f"  {listed(list(result.files), 4)}\n", style="dim")
    if result.skipped:
        text.append(f"  {len(result.skipped)} commit(s) skipped: {into} already has their changes\n", style="dim")
    branch = (
        f"its branch {agent.branch} is deleted once {into} has all of it"
        if plan.request.delete_branch
        else f"its branch {agent.branch} stays"
    )
    text.append(f"then its worktree goes (anything left out is kept first); {branch}")
    for note in plan.merged.notes:
        text.append(f"\n{note}", style="yellow")
    return text


class MergeScreen(ModalScreen[MergeRequest | None]):
    CSS_PATH = "review.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "confirm", "Merge", priority=True),  # from the list, the message or a checkbox
        *(Binding(str(n), f"choose({n - 1})", name, show=False) for n, name in enumerate(STRATEGIES, 1)),
    ]

    class Planned(Message):
        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, sup: Supervisor, agent: Agent, review: Review | None = None) -> None:
        super().__init__()
        self.sup = sup
        self.agent = agent
        self.review = review
        self.plan: Plan | None = None
        self.planning = False
        self._plan_again = False
        self._confirm_after = False

    @property
    def ended_badly(self) -> bool:
        return self.agent.status in (FAILED, FIRED)

    def compose(self) -> ComposeResult:
        into = self.review.into if self.review else "its base branch"
        with VerticalScroll(id="dialog", classes="dialog merge") as dialog:
            dialog.border_title = f"Merge {self.agent.id} into {into}"
            dialog.border_subtitle = "1-4 how · tab next · space tick · enter merge · esc cancel"
            yield subject(self.agent)
            yield Static(self.verdict(), id="verdict")
            yield Label("How")
            yield OptionList(*self.options(), id="strategies", compact=True)
            yield Label("Message (optional)")
            yield Input(id="message", compact=True)
            yield Checkbox("include the uncommitted files it left", id="uncommitted", compact=True)
            yield Checkbox(f"merge anyway: it ended {self.agent.status}", id="force", compact=True)
            yield Checkbox("delete its branch once merged", id="delete", compact=True)
            yield Static(Text("working out what would happen…", style="dim"), id="plan", classes="hint")

    def options(self) -> list[Option]:
        into = self.review.into if self.review else "the base"
        return [
            Option(
                Text.assemble(f"{n}  ", (f"{name:<8}", "bold"), (STRATEGIES[name].format(into=into), "dim")), id=name
            )
            for n, name in enumerate(STRATEGIES, 1)
        ]

    def on_mount(self) -> None:
        strategies = self.query_one("#strategies", OptionList)
        strategies.highlighted = 0
        strategies.focus()
        self.query_one("#uncommitted", Checkbox).display = bool(self.review and self.review.uncommitted)
        self.query_one("#force", Checkbox).display = self.ended_badly
        self.update_message()
        self.request_plan()

    # ------------------------------------------------------------------ the choice

    @property
    def request(self) -> MergeRequest:
        index = self.query_one("#strategies", OptionList).highlighted or 0
        message = self.query_one("#message", Input).value.strip()
        return MergeRequest(
            strategy=list(STRATEGIES)[index],
            message=message or None,
            include_uncommitted=self.query_one("#uncommitted", Checkbox).value,
            force_ended=self.query_one("#force", Checkbox).value,
            delete_branch=self.query_one("#delete", Checkbox).value,
        )

    def action_choose(self, index: int) -> None:
        self.query_one("#strategies", OptionList).highlighted = index

    @on(OptionList.OptionHighlighted, "#strategies")
    def strategy_changed(self) -> None:
        self.update_message()
        self.request_plan()

    @on(OptionList.OptionSelected, "#strategies")
    def strategy_clicked(self) -> None:
        self.query_one("#message", Input).focus()

    @on(Checkbox.Changed)
    def option_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id != "delete":  # deleting the branch changes nothing a dry run sees
            self.request_plan()
        elif self.plan is not None:
            self.show_plan(self.plan)

    def update_message(self) -> None:
        """The message is used by a merge commit and a squash only: say when it is not."""
        strategy = self.request.strategy
        box = self.query_one("#message", Input)
        fast_forward = (
            strategy == "merge"
            and self.plan is not None
            and self.plan.merged is not None
            and str(self.plan.merged.result.outcome) == "fast-forward"
        )
        if strategy == "rebase" or fast_forward:
            box.placeholder = "not used: " + (
                "its commits keep their messages" if strategy == "rebase" else "a fast-forward makes no commit"
            )
        else:
            box.placeholder = (
                "default: Squash … into …, with its commits' subjects"
                if strategy == "squash"
                else "default: Merge … into …"
            )

    # ------------------------------------------------------------------ the dry run

    def request_plan(self) -> None:
        if self.planning:
            self._plan_again = True
            return
        self.planning = True
        self.query_one("#plan", Static).update(Text("working out what would happen…", style="dim"))
        self.dry_run(self.request, self.review)

    @work(thread=True, exit_on_error=False, group="merge-plan")
    def dry_run(self, request: MergeRequest, review: Review | None) -> None:
        plan = Plan(request, review)
        try:
            if review is None:
                _, plan.review = self.sup.review(self.agent.id)
            if self.ended_badly and not request.force_ended:
                plan.error = f'it ended {self.agent.status}: tick "merge anyway" to merge its work'
            else:
                plan.merged = self.sup.merge(
                    self.agent.id,
                    strategy=request.strategy,
                    dry_run=True,
                    include_uncommitted=request.include_uncommitted,
                    force_ended=request.force_ended,
                )
        except MergeConflict as exc:
            plan.error, plan.conflicts = f"conflicts with {exc.into} in {listed(exc.paths, 6)}", exc.paths
        except SupervisorError as exc:
            plan.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - git trouble: said in the dialog, never a dead app
            plan.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.sup.registry.close()  # this thread's connection
        self.post_message(self.Planned(plan))

    def on_merge_screen_planned(self, message: Planned) -> None:
        self.planning = False
        if message.plan.review is not None and self.review is None:
            self.review = message.plan.review
            self.query_one("#dialog").border_title = f"Merge {self.agent.id} into {self.review.into}"
            self.query_one("#verdict", Static).update(self.verdict())
            self.query_one("#uncommitted", Checkbox).display = self.review.uncommitted
            strategies = self.query_one("#strategies", OptionList)
            highlighted = strategies.highlighted
            strategies.clear_options()
            strategies.add_options(self.options())
            strategies.highlighted = highlighted
        if self._plan_again or message.plan.request != self.request:
            self._plan_again = False
            self.request_plan()
            return
        self.plan = message.plan
        self.show_plan(message.plan)
        self.update_message()
        if self._confirm_after:
            self._confirm_after = False
            self.action_confirm()

    def show_plan(self, plan: Plan) -> None:
        shown = Plan(self.request, plan.review, plan.merged, plan.error, plan.conflicts)
        self.query_one("#plan", Static).update(plan_text(shown, self.agent))

    def verdict(self) -> Text:
        if self.review is None:
            return Text("reading its work…", style="dim")
        return Text.assemble(preview_text(self.review.preview), "  ·  ", check_text(self.agent))

    # ------------------------------------------------------------------ answer

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        if self.planning:  # merge once the dry run under way has let go of the agent
            self._confirm_after = True
            self.query_one("#plan", Static).update(Text("merging once the preview is done…", style="dim"))
            return
        request = self.request
        if self.ended_badly and not request.force_ended:
            self.query_one("#plan", Static).update(
                Text(f'✗ it ended {self.agent.status}: tick "merge anyway" (space) to merge its work', style="bold red")
            )
            self.query_one("#force", Checkbox).focus()
            return
        self.dismiss(request)


__all__ = ["MergeRequest", "MergeScreen", "Plan", "plan_text"]
