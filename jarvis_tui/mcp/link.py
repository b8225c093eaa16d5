"""The client at the other end of ``jarvis mcp``: who it is, and what it is told unasked.

- On ``initialize`` the client's name and version are recorded in the registry
  (:mod:`..engine.orchestrators`), so the dashboard's header shows the orchestrator beside its
  workers; every tool call updates its "last call"; the record goes when the server exits.
- While the client is connected, a watcher reads the registry's new events every half second
  (one indexed query; with no engine loop observing the agents it observes them itself, as
  ``jarvis wait`` does) and pushes each status change and each finding as an MCP log
  notification (``notifications/message``, logger ``jarvis.status`` / ``jarvis.notes``), so an
  orchestrator reacts without polling. ``logging/setLevel`` filters them: status changes are
  ``info``, an agent waiting for input or blocked ``notice``, a failure ``warning``.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any, get_args

import anyio
import anyio.to_thread
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams

from ..engine import orchestrators
from ..engine.lease import holder_alive
from ..engine.models import ACTIVE, iso
from ..engine.registry import NotFound, RegistryError
from ..engine.supervisor import Supervisor

log = logging.getLogger("jarvis.mcp")

LEVELS: tuple[str, ...] = get_args(LoggingLevel)
STATUS_LEVEL = {"waiting": "notice", "blocked": "notice", "failed": "warning"}  # the rest: info
KINDS = ("status", "note")


class Link:
    """This server's one client (stdio: one connection per process)."""

    def __init__(self, sup: Supervisor, *, interval: float = 0.5) -> None:
        self.sup = sup
        self.interval = interval
        self.session: ServerSession | None = None
        self.level = "info"
        self.client: str | None = None
        self.lock = threading.Lock()  # one engine call at a time in this process (waits excepted)

    # ------------------------------------------------------------------ who is connected

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "initialize":
            info = (ctx.params or {}).get("clientInfo") or {}
            await self._register(str(info.get("name") or "unknown"), info.get("version"))
        else:
            if self.session is None:  # initialised: from now on it may be told things
                self.session = ctx.session
            if self.client is None:  # a client that skipped the handshake (per-request era)
                params = ctx.session.client_params
                info = params.client_info if params is not None else None
                await self._register(info.name if info else "unknown", info.version if info else None)
        return result

    async def _register(self, name: str, version: str | None) -> None:
        self.client = name
        try:
            await anyio.to_thread.run_sync(
                lambda: orchestrators.register(self.sup.registry, name, version, now=self.sup.clock())
            )
        except RegistryError as exc:  # the registry is the dashboard's window on us, not our reason to live
            log.warning("could not record the orchestrator %s: %s", name, exc)

    def touch(self, tool: str) -> None:
        """(In a tool's thread.) A call: the dashboard shows when the orchestrator last acted."""
        try:
            orchestrators.touch(self.sup.registry, tool, now=self.sup.clock())
        except RegistryError as exc:  # never fail a tool for its bookkeeping
            log.warning("could not record the call to %s: %s", tool, exc)

    def unregister(self) -> None:
        try:
            orchestrators.unregister(self.sup.registry)
        except RegistryError as exc:  # exiting anyway; a dead pid's row is ignored and cleared later
            log.warning("could not remove the orchestrator record: %s", exc)

    async def set_level(self, ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        self.level = params.level
        return EmptyResult()

    # ------------------------------------------------------------------ telling it things

    async def watch(self) -> None:
        """Push new status changes and findings while the server runs."""
        last = await anyio.to_thread.run_sync(self._last_id)
        while True:
            await anyio.sleep(self.interval)
            if self.session is None:
                continue
            try:
                batch, last = await anyio.to_thread.run_sync(self._poll, last)
            except Exception as exc:  # noqa: BLE001 - a locked registry, a tmux hiccup: said, tried again
                log.warning("status watch: %s", exc)
                continue
            for level, logger, data in batch:
                if LEVELS.index(level) < LEVELS.index(self.level):
                    continue
                with warnings.catch_warnings():  # deprecated from protocol 2026-07-28; what clients use today
                    warnings.simplefilter("ignore", MCPDeprecationWarning)
                    await self.session.send_log_message(level, data, logger=logger)  # type: ignore[arg-type]

    def _last_id(self) -> int:
        newest = self.sup.registry.events(kinds=KINDS, limit=1, newest=True)
        return int(newest[-1]["id"]) if newest else 0

    def _poll(self, since: int) -> tuple[list[tuple[str, str, dict[str, Any]]], int]:
        registry = self.sup.registry
        active = registry.ids("status IN (" + ", ".join(f"'{s.value}'" for s in ACTIVE) + ")")
        if active and holder_alive(registry) is None:
            self.sup.reconcile()  # nobody else observes the agents now
        events = registry.events(since_id=since, kinds=KINDS, limit=500)
        out = [shaped for event in events if (shaped := self._shape(event)) is not None]
        return out, int(events[-1]["id"]) if events else since

    def _shape(self, event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
        data = event["data"]
        if event["kind"] == "status":
            try:
                agent = self.sup.registry.get(event["attempt_id"])
            except NotFound:
                return None
            return (
                STATUS_LEVEL.get(str(data.get("new")), "info"),
                "jarvis.status",
                {
                    "event": "status",
                    "id": agent.id,
                    "task_id": agent.task_id,
                    "title": agent.title,
                    "ticket": agent.ticket,
                    "old": data.get("old"),
                    "new": data.get("new"),
                    "reason": data.get("reason"),
                    "at": iso(event["at"]),
                },
            )
        rows = self.sup.registry.query("SELECT * FROM notes WHERE id = ?", (data.get("note_id"),))
        if not rows:
            return None
        note = rows[0]
        return (
            "info",
            "jarvis.notes",
            {
                "event": "note",
                "task_id": note["task_id"],
                "attempt_id": note["attempt_id"],
                "note_id": note["id"],
                "tag": note["tag"],
                "text": note["text"],
                "at": iso(note["at"]),
            },
        )


__all__ = ["Link"]
