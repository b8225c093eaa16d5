"""The ``jarvis mcp`` server: its tools (grouped by area in :mod:`.agents`, :mod:`.orchestrate`
and :mod:`.review`, each a few lines over the :class:`Supervisor`), its client link, running it.

Results are the CLI's ``--json`` records (a list comes wrapped in an object: ``{"agents":
[...]}``), as structured content and as JSON text. A refusal is a tool error (``isError``)
whose text is the CLI's message with its exit code and whose structured content is the CLI's
``--json`` error record: ``{"error": ..., "exit_code": 2}`` (1 failed, 2 bad input or config,
3 unknown id). Arguments the schema refuses (a missing prompt, a string for a number) are
refused by the SDK before any tool runs, naming the field.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import SetLevelRequestParams, ToolAnnotations

from .. import __version__
from ..engine.config import load_config
from ..engine.supervisor import Supervisor
from .agents import AgentTools
from .common import ToolGroup
from .link import Link
from .orchestrate import OrchestrationTools
from .review import ReviewTools

INSTRUCTIONS = (
    "jarvis supervises coding agents, each in its own tmux session, git worktree and branch. spawn (or "
    "spawn_batch) hands a task to a worker; wait_for blocks until workers reach a state; read_log and show_agent "
    "say what one did; send_input answers its question; fire_agent stops one (its work is kept), retry_agent "
    "starts a new attempt, review/merge land the work. Tasks can start after others (after: fan-in), record "
    "findings (add_note) that the tasks after them receive through {findings} in their prompt, and be held "
    "(hold: never dispatched until release). Status changes arrive as log notifications (logger jarvis.status)."
)


class Tools:
    """Every tool, registered on ``app``; ``link`` is told of each call."""

    def __init__(self, sup: Supervisor, link: Link) -> None:
        self.groups: tuple[ToolGroup, ...] = (
            AgentTools(sup, link),
            OrchestrationTools(sup, link),
            ReviewTools(sup, link),
        )

    def register(self, app: MCPServer[Any]) -> None:
        read_only = ToolAnnotations(read_only_hint=True)
        for group in self.groups:
            for fn in group.tools():
                app.add_tool(fn, annotations=read_only if fn.__name__ in group.reading else None)


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


__all__ = ["Tools", "build", "serve"]
