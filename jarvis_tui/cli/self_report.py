"""The commands an agent runs about itself, from inside its session: heartbeat (I am alive)
and report (my outcome, or what I am doing; also called by its tool's hooks)."""

from __future__ import annotations

import argparse
import os
import sys

from .common import EXIT_OK, EXIT_USAGE, CliError, emit_json, open_supervisor
from .engine_stats import engine_on_demand


def cmd_heartbeat(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    agent = sup.heartbeat(self_id(args), args.note)
    if args.json:
        emit_json(agent.to_json())
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    ident = self_id(args)
    mine = os.environ.get("JARVIS_AGENT_ID")
    if args.state:
        return _report_state(args, ident)
    if args.id and args.id != mine and not args.force:
        # A report ends the agent's loop as done or failed: from the wrong shell it would mark a
        # running agent finished. Its own session sets JARVIS_AGENT_ID; anything else says --force.
        where = f"agent {mine}'s session" if mine else "outside an agent session"
        raise CliError(
            f"refusing to report for {args.id} from {where}: a report ends that agent's run "
            "(run it inside the agent's session, or add --force)",
            EXIT_USAGE,
        )
    sup = open_supervisor(args)
    agent = sup.report(ident, args.status, args.summary or "")
    engine_on_demand(sup, agent)  # the run is over: whatever still runs after a grace is stopped
    if args.json:
        emit_json(agent.to_json())
    return EXIT_OK


def _report_state(args: argparse.Namespace, ident: str) -> int:
    """``--state``: from the agent, or from its tool's hook (whose input says why)."""
    from ..engine.agent_hooks import hook_reason

    reason = args.reason or ""
    if not reason and args.via in ("claude", "codex"):
        payload = args.payload
        if payload is None and args.via == "claude" and not sys.stdin.isatty():
            payload = sys.stdin.read(1 << 20)  # Claude's hook input: one JSON object
        reason = hook_reason(args.via, args.state, payload)
    sup = open_supervisor(args)
    agent = sup.report_state(ident, args.state, reason, via=args.via)
    if args.json:
        emit_json(agent.to_json())
    return EXIT_OK


def self_id(args: argparse.Namespace) -> str:
    ident = getattr(args, "id", None) or os.environ.get("JARVIS_AGENT_ID")
    if not ident:
        raise CliError("no agent id: run inside an agent's session (JARVIS_AGENT_ID) or pass --id", EXIT_USAGE)
    return ident


__all__ = ["cmd_heartbeat", "cmd_report", "self_id"]
