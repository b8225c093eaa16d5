"""Commands for orchestrators (a person's script or an orchestrating agent): spawn --batch,
wait, note, notes, release, dispatch, and mcp (the same engine calls as an MCP server)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..describe import note_lines, queue_short, released_message
from ..engine.batch import load
from ..engine.supervisor import Supervisor
from ..format import one_line, status_style
from .agents import print_new_agent
from .common import EXIT_OK, EXIT_USAGE, CliError, console, emit_json, open_supervisor, plain, try_each


def _handoff(sup: Supervisor) -> None:
    """Queued work (or a wait on it) needs an engine loop while no dashboard runs: start one."""
    from ..engine.headless import handoff
    from ..engine.tmux import TmuxError

    if os.environ.get("JARVIS_NO_ENGINE"):
        return
    try:
        handoff(sup)
    except (TmuxError, OSError) as exc:
        print(
            f"jarvis: warning: could not start the engine ({exc}); run 'jarvis engine' so queued agents start",
            file=sys.stderr,
        )


BATCH_ONLY_IN_FILE = ("prompt", "prompt_file", "agent", "title", "after", "max_attempts", "scope", "ticket")


def spawn_batch(args: argparse.Namespace) -> int:
    given = [name for name in BATCH_ONLY_IN_FILE if getattr(args, name, None)]
    if args.hold or args.priority != "medium":
        given.append("hold" if args.hold else "priority")
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise CliError(f"with --batch, give {flags} for each task in the batch file", EXIT_USAGE)
    try:
        text = sys.stdin.buffer.read() if args.batch == "-" else Path(args.batch).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read batch file {args.batch}: {exc.strerror}", EXIT_USAGE) from None
    data = load(text)
    if args.base:
        if isinstance(data, list):
            data = {"tasks": data}
        if isinstance(data, dict):
            if data.get("base") not in (None, args.base):
                raise CliError(f"--base {args.base} and the batch file's base {data['base']!r} differ", EXIT_USAGE)
            data["base"] = args.base
    sup = open_supervisor(args)
    result = sup.spawn_batch(data)
    _handoff(sup)
    if args.json:
        emit_json(result.to_json())
        return EXIT_OK
    width = f", width {result.width}" if result.width else ""
    print(f"batch {result.batch}: {len(result.agents)} tasks ({result.strategy}{width})", file=sys.stderr)
    now = time.time()
    for agent in result.agents:
        print_new_agent(agent, as_json=False, now=now)
    return EXIT_OK


def cmd_wait(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    _handoff(sup)
    started = time.monotonic()
    outcome = sup.wait(args.ids, until=args.until, any_=args.any, timeout=args.timeout)
    if args.json:
        from ..engine.waiting import parse_until

        emit_json(outcome.to_json(parse_until(args.until), any_=args.any, waited=time.monotonic() - started))
        return outcome.code
    out = console()
    for agent in outcome.agents:
        style, symbol = status_style(agent.status)
        reason = queue_short(agent, time.time()) or agent.status_reason or ""
        out.print(
            f"{agent.id}  [{style}]{symbol} {agent.status}[/]  {plain(one_line(agent.title, 50))}"
            + (f" [dim]· {plain(one_line(reason, 60))}[/]" if reason else "")
        )
    if outcome.word == "timeout":
        print(f"jarvis: timed out after {args.timeout:g}s", file=sys.stderr)
    elif outcome.word == "ended_otherwise":
        print(
            f"jarvis: {', '.join(outcome.otherwise)} can no longer reach {', '.join(args.until or ['ended'])}",
            file=sys.stderr,
        )
    return outcome.code


def cmd_note(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    mine = os.environ.get("JARVIS_AGENT_ID")
    if not args.task and not mine:
        raise CliError("no task: run inside an agent's session (JARVIS_AGENT_ID) or pass --task ID", EXIT_USAGE)
    sup = open_supervisor(args)
    by_agent = not args.task or args.task == mine
    note = sup.add_note(args.task or str(mine), text, tag=args.tag, author="" if by_agent else "cli", by_agent=by_agent)
    if args.json:
        emit_json(note.to_json())
    else:
        print(f"noted on task {note.task_id} (#{note.id})")
    return EXIT_OK


def cmd_notes(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    found = sup.notes(task=args.task, tag=args.tag)
    if args.json:
        emit_json([n.to_json() for n in found])
        return EXIT_OK
    if not found:
        print("no notes" + (f" on task {args.task}" if args.task else "") + (f" tagged {args.tag}" if args.tag else ""))
        return EXIT_OK
    out = console()
    for note, (when, who, text) in zip(found, note_lines([n.to_json() for n in found], time.time()), strict=True):
        out.print(f"[bold]{note.task_id}[/] [dim]{plain(when)} {plain(who)}[/] {plain(text)}")
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    """Every id is tried (like rm); non-zero if any was refused."""
    sup = open_supervisor(args)
    results, code = try_each(
        args.ids,
        sup.release,
        done="released",
        record=lambda agent: agent.to_json() | {"released": True, "error": None},
        say=lambda agent: released_message(agent, time.time()),
        as_json=args.json,
    )
    _handoff(sup)
    if args.json:
        emit_json(results)
    return code


def cmd_dispatch(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    if not args.dry_run:
        started = sup.dispatch()
        if args.json:
            emit_json([a.to_json() for a in started])
        else:
            print(
                "\n".join(f"started {a.id} ({a.priority}, {a.agent}): {one_line(a.title, 60)}" for a in started)
                or "nothing to start now (jarvis dispatch --dry-run says why)"
            )
        return EXIT_OK
    plan = sup.dispatch_preview()
    if args.json:
        emit_json(plan)
        return EXIT_OK
    out = console()
    out.print(
        f"[dim]{plan['running']}/{plan['max_agents']} running · CPU {plan['reading']['cpu']:.0f}% "
        f"RAM {plan['reading']['ram']:.0f}%[/]"
    )
    if not plan["queue"]:
        out.print("nothing queued")
    for entry in plan["queue"]:
        what = (
            "[green]would start[/]"
            if entry["would_start"]
            else ("[magenta]would block[/]" if entry["would_block"] else "[dim]waits[/]")
        )
        why = f" · {plain(entry['queue']['kind'])}: {plain(entry['queue']['text'])}" if entry["queue"] else ""
        out.print(f"{entry['id']}  {what}  {entry['priority']:<8} {plain(one_line(entry['title'], 50))}{why}")
    if plan["held"]:
        out.print(f"[dim]held (jarvis release ID): {', '.join(plan['held'])}[/]")
    for blocked in plan["blocked"]:
        out.print(f"[dim]blocked: {blocked['id']} · {plain(blocked['reason'] or '')}[/]")
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace) -> int:
    from ..mcp.server import serve  # the MCP SDK is imported by this command only

    return serve(getattr(args, "config", None))


__all__ = ["cmd_dispatch", "cmd_mcp", "cmd_note", "cmd_notes", "cmd_release", "cmd_wait", "spawn_batch"]
