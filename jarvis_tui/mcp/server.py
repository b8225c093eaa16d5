"""The MCP tools of ``jarvis mcp``: each one a few lines over the :class:`Supervisor`.

Results are the CLI's ``--json`` records (a list comes wrapped in an object: ``{"agents":
[...]}``), as structured content and as JSON text. A refusal is a tool error (``isError``)
whose text is the CLI's message with its exit code and whose structured content is the CLI's
``--json`` error record: ``{"error": ..., "exit_code": 2}`` (1 failed, 2 bad input or config,
3 unknown id). Arguments the schema refuses (a missing prompt, a string for a number) are
refused by the SDK before any tool runs, naming the field.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CallToolResult, SetLevelRequestParams, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..engine import details, metrics
from ..engine.batch import STRATEGIES
from ..engine.config import ConfigError, load_config
from ..engine.git.worktrees import WorktreeError
from ..engine.merging import MergeConflict
from ..engine.models import STATUSES
from ..engine.registry import RegistryError
from ..engine.supervisor import Supervisor, SupervisorError
from ..engine.tmux import TmuxError
from ..engine.vocabulary import FIRE_REASONS, PRIORITIES
from ..engine.waiting import ALIASES, UNTIL_HELP, parse_until
from .link import Link

log = logging.getLogger("jarvis.mcp")

# Tool signatures are read by the SDK (pydantic) from their annotations, as strings evaluated in
# this module's globals (postponed annotations): the aliases they use must live at module level.
Result = Annotated[CallToolResult, dict[str, Any]]  # structured content: a JSON object
Id = Annotated[str, Field(description="agent id: any unique prefix of it")]
# Closed vocabularies are listed in the schema (enum) and checked by the engine, with the CLI's words.
Priority = Annotated[
    str, Field(description="which queued task starts first", json_schema_extra={"enum": list(PRIORITIES)})
]
Strategy = Annotated[
    str,
    Field(
        description="parallel: all queued at once, admission decides; sequential: each "
        "after the previous; auto: at most as many at once as can start now",
        json_schema_extra={"enum": list(STRATEGIES)},
    ),
]
Reason = Annotated[
    str,
    Field(
        description="; ".join(f"{k}: {v}" for k, v in FIRE_REASONS.items()),
        json_schema_extra={"enum": list(FIRE_REASONS)},
    ),
]
StatusName = Annotated[str, Field(json_schema_extra={"enum": list(STATUSES)})]
UntilName = Annotated[str, Field(description=UNTIL_HELP, json_schema_extra={"enum": [*ALIASES, *STATUSES]})]
MEANING = {1: "the operation failed", 2: "bad input or config", 3: "unknown agent id"}
INSTRUCTIONS = (
    "jarvis supervises coding agents, each in its own tmux session, git worktree and branch. spawn (or "
    "spawn_batch) hands a task to a worker; wait_for blocks until workers reach a state; read_log and show_agent "
    "say what one did; send_input answers its question; fire_agent stops one (its work is kept), retry_agent "
    "starts a new attempt, review/merge land the work. Tasks can start after others (after: fan-in), record "
    "findings (add_note) that the tasks after them receive through {findings} in their prompt, and be held "
    "(hold: never dispatched until release). Status changes arrive as log notifications (logger jarvis.status)."
)


class BatchTask(BaseModel):
    """One task of a batch (the keys of a batch file)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str
    name: str | None = Field(None, description="a name other tasks of the batch can put in their after")
    title: str | None = None
    agent: str | None = Field(None, description="agent profile (default: the config's default)")
    priority: str | None = Field(
        None, description="which queued task starts first", json_schema_extra={"enum": list(PRIORITIES)}
    )
    kind: str | None = Field(None, description="what sort of task, a label (e.g. review, test)")
    scope: list[str] | None = Field(None, description="files it may edit (gitignore-style globs)")
    after: list[str | int] | None = Field(
        None, description="tasks it starts after: names or indexes in this batch, or ids of existing agents"
    )
    ticket: str | None = None
    hold: bool = False
    max_attempts: int | None = None


def ok(data: Any) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, indent=2, ensure_ascii=False))], structured_content=data
    )


def refused(message: str, code: int, **extra: Any) -> CallToolResult:
    """The CLI's words and exit code, as an MCP tool error."""
    text = f"{message} (exit code {code}: {MEANING.get(code, 'failed')})"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        is_error=True,
        structured_content={"error": message, "exit_code": code, **extra},
    )


class Tools:
    """Every tool, registered on ``app``; ``link`` is told of each call."""

    def __init__(self, sup: Supervisor, link: Link) -> None:
        self.sup = sup
        self.link = link

    def run(
        self, tool: str, work: Callable[[], Any], *, starts: bool = False, exclusive: bool = True
    ) -> CallToolResult:
        """One engine call: errors as the CLI words them; ``starts``: queued work may need an
        engine loop afterwards (started on demand, as after a CLI command)."""
        self.link.touch(tool)
        guard: AbstractContextManager[Any] = self.link.lock if exclusive else nullcontext()
        try:
            with guard:
                data = work()
        except MergeConflict as exc:
            return refused(str(exc), exc.exit_code, conflicts=exc.paths)
        except ConfigError as exc:
            return refused(exc.render(), 2)
        except SupervisorError as exc:
            return refused(str(exc), exc.exit_code)
        except (TmuxError, WorktreeError, RegistryError) as exc:
            return refused(str(exc), 1)
        if starts and not os.environ.get("JARVIS_NO_ENGINE"):
            from ..engine.headless import handoff

            try:
                handoff(self.sup)
            except (TmuxError, OSError) as exc:  # the call itself succeeded: say it in the log
                log.warning("could not start the engine: %s", exc)
        return ok(data)

    def register(self, app: MCPServer[Any]) -> None:
        sup, run = self.sup, self.run
        read_only = ToolAnnotations(read_only_hint=True)

        def spawn(
            prompt: Annotated[
                str,
                Field(description="the task, as the worker reads it; {findings} becomes what its after tasks recorded"),
            ],
            title: str | None = None,
            agent: Annotated[str | None, Field(description="agent profile (default: the config's)")] = None,
            priority: Priority = "medium",
            after: Annotated[list[str] | None, Field(description="ids of tasks that must ALL be done first")] = None,
            scope: Annotated[list[str] | None, Field(description="files it may edit (globs)")] = None,
            ticket: Annotated[str | None, Field(description="external ticket id, e.g. PROJ-7")] = None,
            kind: str | None = None,
            base: Annotated[str | None, Field(description="branch or commit to start from")] = None,
            hold: Annotated[bool, Field(description="never dispatched until release")] = False,
            max_attempts: int | None = None,
        ) -> Result:
            """Hand a task to a new worker (its own worktree, branch and tmux session): it starts now if
            admission allows, else it is queued (or held). Returns its record."""
            return run(
                "spawn",
                lambda: sup.spawn(
                    prompt,
                    agent=agent,
                    title=title,
                    priority=priority,
                    after=after,
                    max_attempts=max_attempts,
                    scope=scope,
                    ticket=ticket,
                    kind=kind,
                    base=base,
                    hold=hold,
                ).to_json(),
                starts=True,
            )

        def spawn_batch(
            tasks: list[BatchTask],
            strategy: Strategy = "parallel",
            base: Annotated[
                str | None, Field(description="branch or commit every task starts from (e.g. your current branch)")
            ] = None,
        ) -> Result:
            """Spawn many tasks at once. The whole batch is checked first: one bad task refuses it (naming
            tasks[i]) and nothing is created."""
            data = {
                "strategy": strategy,
                "base": base,
                "tasks": [t.model_dump(exclude_none=True, exclude_defaults=True) | {"prompt": t.prompt} for t in tasks],
            }
            if base is None:
                del data["base"]
            return run("spawn_batch", lambda: sup.spawn_batch(data).to_json(), starts=True)

        def list_agents(
            all: Annotated[bool, Field(description="include removed agents and earlier attempts")] = False,
            status: Annotated[list[StatusName] | None, Field(description="only these statuses")] = None,
        ) -> Result:
            """Agents: the latest attempt of each task (the CLI's ls --json records)."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                agents = sup.agents(include_all=all)
                return {"agents": [a.to_json() for a in agents if not status or a.status in status]}

            return run("list_agents", work)

        def show_agent(id: Id) -> Result:
            """One agent in full: prompt, git state, attempts, fires, decisions, notes, dependencies."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return sup.details(sup.get(id))

            return run("show_agent", work)

        def read_log(
            id: Id,
            lines: Annotated[int, Field(description="how many of the last lines")] = 50,
            screen: Annotated[
                bool, Field(description="the pane as it looks now instead (full-screen agents such as Claude Code)")
            ] = False,
        ) -> Result:
            """An agent's output: the tail of its log (escapes removed), or its screen."""
            return run("read_log", lambda: details.output(sup, id, lines=lines, screen=screen))

        def send_input(id: Id, text: str, enter: bool = True) -> Result:
            """Type text into a running agent (e.g. answer its question), then Enter."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return sup.send(id, text, enter=enter).to_json()

            return run("send_input", work)

        def fire_agent(id: Id, reason: Reason, note: str = "") -> Result:
            """Stop an agent; all its work is preserved to refs/jarvis/fired/<id>, the reason recorded."""
            return run("fire_agent", lambda: sup.fire(id, reason, note).to_json())

        def retry_agent(
            id: Id, fresh: Annotated[bool, Field(description="from the base, not its last files")] = False
        ) -> Result:
            """A new attempt of an ended agent's task, told why the last one ended."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return sup.retry(id, fresh=fresh).to_json()

            return run("retry_agent", work, starts=True)

        def remove_agent(id: Id) -> Result:
            """Clean up an ended agent (branch and uncommitted work are kept)."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                agent = sup.remove(id)
                return agent.to_json() | {"preserved_ref": agent.preserved_ref, "error": None}

            return run("remove_agent", work)

        def release(id: Id) -> Result:
            """Dispatch a held task: it joins the queue (and starts now if admission allows)."""
            return run("release", lambda: sup.release(id).to_json(), starts=True)

        def wait_for(
            ids: Annotated[
                list[str],
                Field(description="agent ids (each task followed across its automatic retries)", min_length=1),
            ],
            until: Annotated[list[UntilName] | None, Field(description="any of these (default: ended)")] = None,
            any: Annotated[bool, Field(description="return when ANY reaches it (default: all)")] = False,
            timeout: Annotated[
                float,
                Field(
                    description="seconds (keep it under your client's request timeout; call again to go on)",
                    ge=0,
                    le=3600,
                ),
            ] = 60.0,
        ) -> Result:
            """Block until the agents reach a state. exit_code: 0 reached, 1 one ended otherwise (e.g. failed
            while waiting for done), 124 timed out."""

            def work() -> dict[str, Any]:
                started = time.monotonic()
                outcome = sup.wait(ids, until=until, any_=any, timeout=timeout)
                return outcome.to_json(parse_until(until), any_=any, waited=time.monotonic() - started)

            return run("wait_for", work, exclusive=False)

        def task_stats() -> Result:
            """Per-profile metrics: dispatched, done, failed, fired (by reason), success rate, time, cost."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return {"profiles": metrics.profile_stats(sup.registry, sup.config)}

            return run("task_stats", work)

        def add_note(
            task: Annotated[str, Field(description="an agent id: the note goes on its task")],
            text: str,
            tag: Annotated[str | None, Field(description="a one-word label, e.g. risk")] = None,
        ) -> Result:
            """Record a finding on a task: the tasks after it receive it ({findings}, JARVIS_FINDINGS_FILE)."""
            return run(
                "add_note", lambda: sup.add_note(task, text, tag=tag, author=self.link.client or "mcp").to_json()
            )

        def list_notes(
            task: Annotated[str | None, Field(description="only this agent's task")] = None, tag: str | None = None
        ) -> Result:
            """Findings recorded with jarvis note / add_note, oldest first."""
            return run("list_notes", lambda: {"notes": [n.to_json() for n in sup.notes(task=task, tag=tag)]})

        def dispatch_preview() -> Result:
            """What would start now, and for every queued task why not (changes nothing)."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return sup.dispatch_preview()

            return run("dispatch_preview", work)

        def review(id: Id, into: Annotated[str | None, Field(description="branch to review against")] = None) -> Result:
            """What an agent changed, and whether it merges into the base now (the CLI's review --json)."""
            from ..engine import reviewing

            def work() -> dict[str, Any]:
                sup.reconcile()
                return reviewing.to_json(*sup.review(id, into=into))

            return run("review", work)

        def merge(
            id: Id,
            strategy: Annotated[str, Field(description="merge | squash | rebase | no-ff")] = "merge",
            into: str | None = None,
            message: str | None = None,
            dry_run: bool = False,
            include_uncommitted: bool = False,
            force_ended: bool = False,
            delete_branch: bool = False,
        ) -> Result:
            """Merge an ended agent's work into the base branch; nothing changes on a conflict."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return sup.merge(
                    id,
                    strategy=strategy,
                    into=into,
                    message=message,
                    dry_run=dry_run,
                    include_uncommitted=include_uncommitted,
                    force_ended=force_ended,
                    delete_branch=delete_branch,
                ).to_json()

            return run("merge", work)

        def conflicts() -> Result:
            """Live agents editing the same files, and whether merging both would conflict."""

            def work() -> dict[str, Any]:
                sup.reconcile()
                return {"conflicts": sup.conflicts()}

            return run("conflicts", work)

        reading = {
            "list_agents",
            "show_agent",
            "read_log",
            "wait_for",
            "task_stats",
            "list_notes",
            "dispatch_preview",
            "review",
            "conflicts",
        }
        for fn in (
            spawn,
            spawn_batch,
            list_agents,
            show_agent,
            read_log,
            send_input,
            fire_agent,
            retry_agent,
            remove_agent,
            release,
            wait_for,
            task_stats,
            add_note,
            list_notes,
            dispatch_preview,
            review,
            merge,
            conflicts,
        ):
            app.add_tool(fn, annotations=read_only if fn.__name__ in reading else None)


def build(sup: Supervisor, *, interval: float = 0.5) -> tuple[MCPServer[Any], Link]:
    """The server over ``sup``: its tools, its client link, its watcher."""
    link = Link(sup, interval=interval)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        async with anyio.create_task_group() as group:
            group.start_soon(link.watch)
            try:
                yield {}
            finally:
                group.cancel_scope.cancel()
                await anyio.to_thread.run_sync(link.unregister)

    app: MCPServer[Any] = MCPServer(
        "jarvis",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        middleware=[link.middleware],
        log_level="WARNING",
    )
    Tools(sup, link).register(app)
    with warnings.catch_warnings():  # the logging capability: what today's clients subscribe with
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        # The public MCPServer has no setLevel hook; its low-level server takes one (SDK pinned <3).
        app._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, link.set_level)
    return app, link


def serve(config_path: str | None) -> int:
    """``jarvis mcp``: serve on stdin/stdout until the client goes."""
    sup = Supervisor(load_config(config_path))
    app, _ = build(sup)
    app.run("stdio")
    return 0


__all__ = ["BatchTask", "Tools", "build", "refused", "serve"]
