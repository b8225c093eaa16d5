"""What every MCP tool shares: the argument types its schema shows, and one way to call the
engine (:meth:`ToolGroup.run`): results are the CLI's ``--json`` records, a refusal is a tool
error with the CLI's words and exit code. The tools themselves are grouped by area, as the
CLI's commands are: :mod:`.agents`, :mod:`.orchestrate`, :mod:`.review`."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent
from pydantic import Field

from ..engine.batch import STRATEGIES
from ..engine.config import ConfigError
from ..engine.git.worktrees import WorktreeError
from ..engine.merging import MergeConflict
from ..engine.models import STATUSES
from ..engine.registry import RegistryError
from ..engine.supervisor import Supervisor, SupervisorError
from ..engine.tmux import TmuxError
from ..engine.vocabulary import FIRE_REASONS, PRIORITIES
from ..engine.waiting import ALIASES, UNTIL_HELP
from .link import Link

log = logging.getLogger("jarvis.mcp")

# Tool signatures are read by the SDK (pydantic) from their annotations, as strings evaluated in
# the globals of the module defining the tool (postponed annotations): the aliases they use must
# live at module level, here, and be imported at module level where a tool uses them.
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


class ToolGroup:
    """One area's tools over ``sup``; ``link`` is told of each call. :meth:`tools` returns
    them in the order clients list them; the names in ``reading`` change nothing."""

    reading: frozenset[str] = frozenset()

    def __init__(self, sup: Supervisor, link: Link) -> None:
        self.sup = sup
        self.link = link

    def tools(self) -> list[Callable[..., Result]]:
        raise NotImplementedError

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


__all__ = [
    "Id",
    "Priority",
    "Reason",
    "Result",
    "StatusName",
    "Strategy",
    "ToolGroup",
    "UntilName",
    "ok",
    "refused",
]
