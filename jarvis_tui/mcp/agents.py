"""The MCP tools on workers: spawn (one, or a batch), list, show, read the log, send input,
fire, retry, remove, release a held task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ..engine import details
from ..engine.vocabulary import PRIORITIES
from .common import Id, Priority, Reason, Result, StatusName, Strategy, ToolGroup


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


class AgentTools(ToolGroup):
    """Spawning, watching and stopping workers."""

    reading = frozenset({"list_agents", "show_agent", "read_log"})

    def tools(self) -> list[Callable[..., Result]]:
        sup, run = self.sup, self.run

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

        return [
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
        ]


__all__ = ["AgentTools", "BatchTask"]
