"""The main screen's actions that change the engine: spawn, fire, retry, release, remove, send,
attach, check and merge.

Each runs in a thread worker (a worktree or a process-tree kill can take seconds) with
``exit_on_error=False``: a failure becomes an error notification, never a dead app. When it
is done, :class:`EngineChanged` asks for a tick at once, so the table shows the outcome
without waiting for the next interval. What the user reads is worded in :mod:`describe`,
shared with the CLI.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported
from textual.message_pump import MessagePump

from ..describe import (
    attach_label,
    conflict_question,
    detach_hint,
    fired_message,
    merged_message,
    queue_short,
    released_message,
    removed_message,
    sent_message,
)
from ..engine.models import ACTIVE, Agent
from ..engine.supervisor import Supervisor, SupervisorError, UsageError
from ..format import one_line
from .messages import EngineChanged, MergeFinished, SpawnRejected

if TYPE_CHECKING:  # dialogs and the review/merge machinery are imported when first used
    from ..engine.git.review import Review
    from .app import JarvisApp
    from .screens.main import MainScreen
    from .screens.merge import MergeRequest
    from .screens.spawn import SpawnRequest


class EngineCalls:
    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    @property
    def app(self) -> JarvisApp:
        return self.screen.app  # type: ignore[return-value]

    @property
    def sup(self) -> Supervisor:
        return self.app.sup

    def run(self, work: Callable[[], None], name: str, group: str) -> None:
        self.screen.run_worker(work, name=name, group=group, thread=True, exit_on_error=False)

    @contextmanager
    def engine_call(self, what: str, agent_id: str | None = None) -> Iterator[EngineChanged]:
        """One engine action in a worker: errors become notifications, then tick now."""
        outcome = EngineChanged(acted_on=agent_id)
        try:
            yield outcome
        except SupervisorError as exc:
            self.app.say(str(exc), severity="error", title=f"{what} failed")
        except Exception as exc:  # noqa: BLE001 - tmux/git/registry trouble: shown, the app lives on
            self.app.say(f"{type(exc).__name__}: {exc}", severity="error", title=f"{what} failed")
        finally:
            self.sup.registry.close()  # this thread's connection
            self.app.post_message(outcome)

    # ------------------------------------------------------------------ the calls

    def spawn(self, request: SpawnRequest) -> None:
        def work() -> None:
            with self.engine_call("spawn") as outcome:
                try:
                    agent = self.sup.spawn(request.prompt, **request.options())
                except UsageError as exc:
                    self.screen.post_message(SpawnRejected(request, str(exc)))
                    return
                outcome.select = agent.id
                why = queue_short(agent, self.sup.clock()) or agent.status_reason
                extra = f" ({why})" if agent.status not in ACTIVE and why else ""
                self.app.say(f"{agent.id} {agent.status}{extra}: {one_line(agent.title, 50)}", title="spawned")

        self.run(work, "spawn_worker", "spawn")

    def fire(self, agent_id: str, reason: str, note: str) -> None:
        def work() -> None:
            with self.engine_call("fire", agent_id):
                self.app.say(fired_message(self.sup.fire(agent_id, reason, note), reason), title="fired")

        self.run(work, "fire_worker", "fire")

    def retry(self, agent_id: str, fresh: bool) -> None:
        def work() -> None:
            with self.engine_call("retry", agent_id) as outcome:
                agent = self.sup.retry(agent_id, fresh=fresh)
                outcome.select = agent.id
                how = "fresh from base" if fresh else "from its files"
                self.app.say(
                    f"{agent_id} retried as {agent.id} (attempt {agent.attempt}, {how}): {agent.status}", title="retry"
                )

        self.run(work, "retry_worker", "retry")

    def release(self, agent_id: str) -> None:
        def work() -> None:
            with self.engine_call("release", agent_id):
                self.app.say(released_message(self.sup.release(agent_id), self.sup.clock()), title="released")

        self.run(work, "release_worker", "release")

    def remove(self, agent_id: str) -> None:
        def work() -> None:
            with self.engine_call("remove", agent_id):
                self.app.say(removed_message(self.sup.remove(agent_id)), title="removed")

        self.run(work, "remove_worker", "remove")

    def send(self, agent_id: str, text: str) -> None:
        def work() -> None:
            with self.engine_call("send"):
                self.sup.send(agent_id, text)
                self.app.say(sent_message(agent_id, text, enter=True), title="sent")

        self.run(work, "send_worker", "send")

    def check(self, agent_id: str) -> None:
        def work() -> None:
            with self.engine_call("check", agent_id):
                agent = self.sup.check(agent_id)
                self.app.say(f"check of {agent.id} started; its result shows in the table (✓ or ✗)", title="check")

        self.run(work, "check_worker", "check")

    def open_merge(self, agent: Agent, review: Review | None, reply_to: MessagePump | None = None) -> None:
        """The merge dialog (it reads the review itself when ``review`` is None); what it
        returns is merged in a worker, and ``reply_to`` hears :class:`MergeFinished`."""

        def chosen(request: MergeRequest | None) -> None:
            if request is not None:
                self.screen.table.busy[agent.id] = "merging"
                self.merge(agent.id, request, reply_to)

        from .screens.merge import MergeScreen

        self.app.push_screen(MergeScreen(self.sup, agent, review), chosen)

    def merge(self, agent_id: str, request: MergeRequest, reply_to: MessagePump | None = None) -> None:
        from ..engine.merging import MergeConflict

        def work() -> None:
            merged = False
            try:
                with self.engine_call("merge", agent_id):
                    try:
                        done = self.sup.merge(
                            agent_id,
                            strategy=request.strategy,
                            message=request.message,
                            include_uncommitted=request.include_uncommitted,
                            force_ended=request.force_ended,
                            delete_branch=request.delete_branch,
                        )
                    except MergeConflict as exc:  # nothing changed: offer the retry that is told why
                        self.app.call_from_thread(self.conflicted, agent_id, exc.into, exc.paths)
                        return
                    merged = True
                    self.app.say(merged_message(done), title="merged")
            finally:
                if reply_to is not None:
                    reply_to.post_message(MergeFinished(agent_id, merged))

        self.run(work, "merge_worker", "merge")

    def conflicted(self, agent_id: str, into: str, paths: list[str]) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.screen.table.busy[agent_id] = "retrying"
                self.retry(agent_id, False)

        from .screens.confirm import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(f"{agent_id} conflicts with {into}", conflict_question(agent_id, into, paths)), answered
        )

    def attach(self, agent: Agent) -> None:
        def work() -> None:
            with self.engine_call("attach"):
                session = agent.tmux_session or ""
                if not self.sup.tmux.has_session(session):
                    raise SupervisorError(f"{agent.id} has no live tmux session any more ({agent.status})")
                argv = self.sup.tmux.attach_argv(session, status=attach_label(agent))
                self.app.call_from_thread(self.attach_now, agent.id, argv, self.sup.tmux.attach_env())

        self.run(work, "attach_worker", "attach")

    def attach_now(self, agent_id: str, argv: list[str], env: dict[str, str]) -> None:
        """Hand the terminal to tmux until the user detaches (ctrl-q), then take it back."""
        hint = detach_hint("TMUX" in os.environ)  # is the dashboard itself in the user's tmux?
        try:
            with self.app.suspend():
                print(f"jarvis: attaching to {agent_id}; {hint} to return to the dashboard", flush=True)
                subprocess.run(argv, env=env, check=False)
        except SuspendNotSupported:
            self.app.say(f"this terminal cannot hand over to tmux; run: {shlex.join(argv)}", severity="error")
