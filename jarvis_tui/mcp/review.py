"""The MCP tools that land a worker's work: review it, merge it, and see where live workers
overlap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from .common import Id, Result, ToolGroup


class ReviewTools(ToolGroup):
    """Reviewing and merging workers' work."""

    reading = frozenset({"review", "conflicts"})

    def tools(self) -> list[Callable[..., Result]]:
        sup, run = self.sup, self.run

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

        return [review, merge, conflicts]


__all__ = ["ReviewTools"]
