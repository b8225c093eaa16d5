"""The MCP tools an orchestrator coordinates with: wait for workers, their stats, findings
(notes) passed from task to task, and what the queue would start now."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from ..engine import metrics
from ..engine.waiting import parse_until
from .common import Result, ToolGroup, UntilName


class OrchestrationTools(ToolGroup):
    """Waiting on workers and passing findings between tasks."""

    reading = frozenset({"wait_for", "task_stats", "list_notes", "dispatch_preview"})

    def tools(self) -> list[Callable[..., Result]]:
        sup, run = self.sup, self.run

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

        return [wait_for, task_stats, add_note, list_notes, dispatch_preview]


__all__ = ["OrchestrationTools"]
