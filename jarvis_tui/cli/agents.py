"""Commands about agents: spawn, ls, show, logs, attach, send, fire, retry, rm (the two an
agent runs about itself, heartbeat and report, are in :mod:`.self_report`)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..describe import (
    attach_label,
    cost_short,
    detach_hint,
    fact_rows,
    fired_message,
    note_lines,
    queue_short,
    queue_text,
    removed_message,
    sent_message,
)
from ..engine.models import ACTIVE, ENDED, HELD, Agent
from ..engine.supervisor import Supervisor
from ..format import ago, duration, one_line, status_style
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    console,
    emit_json,
    open_supervisor,
    plain,
    read_prompt,
    try_each,
)
from .engine_stats import engine_on_demand


def print_new_agent(agent: Agent, as_json: bool, now: float | None = None) -> int:
    """spawn/retry output: the id on stdout (or the record), and why it is not running yet."""
    if as_json:
        emit_json(agent.to_json())
        return EXIT_OK
    print(agent.id)
    if agent.status not in ACTIVE:
        queued = queue_short(agent, time.time() if now is None else now)
        reason = (queue_text(agent) if agent.status == HELD else queued) or agent.status_reason
        print(f"{agent.id} is {agent.status}" + (f": {reason}" if reason else ""), file=sys.stderr)
    return EXIT_OK


def cmd_spawn(args: argparse.Namespace) -> int:
    if args.batch is not None:
        from .orchestrate import spawn_batch

        return spawn_batch(args)
    if args.dry_run:
        return _spawn_dry_run(args)
    prompt = read_prompt(args)
    sup = open_supervisor(args)
    agent = sup.spawn(prompt, agent=args.agent, **spawn_options(args))
    engine_on_demand(sup, agent)
    return print_new_agent(agent, args.json)


def spawn_options(args: argparse.Namespace) -> dict[str, Any]:
    """The spawn's options from its flags: ONE list for the spawn and its dry run (a dry run
    that skipped one said "would spawn" for what the spawn refuses)."""
    return {
        "title": args.title,
        "priority": args.priority,
        "after": args.after,
        "max_attempts": args.max_attempts,
        "scope": args.scope,
        "ticket": args.ticket,
        "base": args.base,
        "hold": args.hold,
        "kind": args.kind,
        "budget": args.budget,
    }


def _spawn_dry_run(args: argparse.Namespace) -> int:
    """What a spawn would do: the profile (with --agent auto, the whole ranking); nothing made."""
    has_prompt = args.prompt is not None or args.prompt_file is not None
    prompt = read_prompt(args) if has_prompt else None
    sup = open_supervisor(args)
    route = sup.route(args.kind) if args.agent == "auto" else None
    name = route.chosen if route else (args.agent or sup.config.default_profile)
    # Every check the spawn makes (ticket, base, scope, dependencies...), the prompt's only when given.
    spec = sup.validate_spawn(
        prompt if prompt is not None else "(dry run: no prompt given)", agent=name, **spawn_options(args)
    )
    from ..engine.spawn import check_base

    check_base(sup, spec)
    if args.json:
        emit_json({"agent": name, "kind": args.kind, "route": route.to_json() if route else None})
        return EXIT_OK
    if route is None:
        print(f"would spawn profile {name}" + ("" if prompt is not None else " (no prompt given: not checked)"))
        return EXIT_OK
    from rich.table import Table

    print(f"--agent auto for kind {args.kind or '(none)'} (prefer {route.prefer}, seed {route.seed}): {name}")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("PROFILE", "DONE", "FAILED", "SUCCESS~", "SAMPLED", "$/SUCCESS", "TIME", "SCORE", "NOTE"):
        table.add_column(column, no_wrap=True, justify="left" if column in ("PROFILE", "NOTE") else "right")
    for score in route.ranking:
        note = score.unavailable or ("at max_concurrent" if score.at_limit else "")
        note = note or ("cost estimated" if not score.cost_known else "")
        table.add_row(
            ("▶ " if score.profile == name else "  ") + score.profile,
            str(score.successes),
            str(score.failures),
            f"{score.mean:.0%}",
            f"{score.theta:.2f}",
            f"{score.cost:.2f}",
            duration(score.seconds),
            "-" if score.unavailable else f"{score.score:.2f}",
            plain(note),
        )
    console().print(table)
    return EXIT_OK


def cmd_ls(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    agents = sup.agents(include_all=args.all)
    if args.status:
        agents = [a for a in agents if a.status in args.status]
    if args.json:
        emit_json([a.to_json() for a in agents])
        return EXIT_OK
    if not agents:
        print("no agents. Start one: jarvis spawn --agent demo 'Say hello'")
        return EXIT_OK
    from rich.table import Table

    now = time.time()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "STATUS", "AGENT", "PRI", "#", "TITLE", "BRANCH", "RUNTIME", "OUTPUT", "COST"):
        table.add_column(column, no_wrap=column != "TITLE", overflow="ellipsis")
    for a in agents:
        style, symbol = status_style(a.status)
        queued = queue_short(a, now)
        table.add_row(
            a.id,
            f"[{style}]{symbol} {a.status}[/]" + (" [dim](removed)[/]" if a.removed else ""),
            a.agent,
            a.priority,
            str(a.attempt),
            (f"[cyan]{plain(a.ticket)}[/] " if a.ticket else "")
            + plain(one_line(a.title, 40))
            + (f" [dim]· {plain(one_line(queued, 40))}[/]" if queued else ""),
            plain(a.branch or "-"),
            duration(a.runtime(now)),
            ago(a.last_output_at, now),
            cost_short(a),
        )
    console().print(table)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    agent = sup.get(args.id)
    data = sup.details(agent)
    if args.json:
        emit_json(data)
        return EXIT_OK
    out = console()
    style, symbol = status_style(agent.status)
    out.print(f"[bold]{agent.id}[/]  [{style}]{symbol} {agent.status}[/]  {plain(one_line(agent.title, 70))}")
    for key, value in fact_rows(agent, data, socket=sup.tmux.socket, now=time.time()):
        out.print(f"  [dim]{key:<14}[/] {plain(value)}")
    for fire in agent.fires:
        note = f": {fire.note}" if fire.note else ""
        out.print(f"  [red]fired[/] {plain(fire.reason + note)} → {plain(fire.ref or 'nothing preserved')}")
    if len(data["attempts"]) > 1:  # the task's history: each attempt, how it ended
        for a in data["attempts"]:
            mark = "▶" if a["id"] == agent.id else " "
            code = f", exit {a['exit_code']}" if a["exit_code"] is not None else ""
            why = f": {one_line(a['status_reason'], 60)}" if a["status_reason"] else ""
            line = f"{mark} #{a['attempt']} {a['id']} {a['status']}{code}{why}"
            out.print(f"  [dim]attempt[/]      {plain(line)}")
    for decision in data["decisions"]:
        out.print(f"  [yellow]policy[/] {plain(decision['decision'])}: {plain(decision['note'])}")
    for when, who, text in note_lines(data["notes"], time.time()):
        out.print(f"  [green]note[/] [dim]{plain(when)} {plain(who)}[/] {plain(text)}")
    out.print("  [dim]prompt[/]")
    for line in agent.prompt.splitlines() or [""]:
        out.print("    " + line, markup=False)
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    from ..engine.logs import LogTail

    sup = open_supervisor(args)
    agent = sup.get(args.id)
    if args.screen:
        return _print_screen(sup, agent, args.raw)
    path = sup.log_path(agent.id)
    if args.raw and not args.follow:
        data = path.read_bytes() if path.exists() else b""
        sys.stdout.buffer.write(data)
        return EXIT_OK
    keep_sgr = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    reader = LogTail(path, keep_sgr=keep_sgr)
    if args.lines:
        reader.seek_tail(args.lines)
        lines: list[str] = []
        while batch := reader.read():  # bounded chunks; keep only the tail
            lines = (lines + batch)[-args.lines :]
        _write_lines(lines)
    else:
        while batch := reader.read():  # the whole log, streamed in bounded chunks
            _write_lines(batch)
    if not args.follow:
        if reader.partial.strip():
            _write_lines([reader.partial])
        return EXIT_OK
    last_check = 0.0
    try:
        while True:
            batch = reader.read()
            _write_lines(batch)
            now = time.monotonic()
            if now - last_check > 1.0:
                last_check = now
                sup.reconcile()
                if sup.registry.get(agent.id).status in ENDED and reader.at_end:
                    _write_lines(reader.read())
                    if reader.partial.strip():
                        _write_lines([reader.partial])
                    return EXIT_OK
            if not batch:
                time.sleep(0.2)
    except KeyboardInterrupt:
        return EXIT_OK


def _print_screen(sup: Supervisor, agent: Agent, raw: bool) -> int:
    """The pane as it looks now: the honest view of a full-screen agent (cursor-drawn TUIs)."""
    sup.reconcile()
    agent = sup.registry.get(agent.id)
    if not agent.pane_id or agent.tmux_session not in sup.tmux.sessions():
        raise CliError(f"agent {agent.id} has no live pane ({agent.status}); its output is in: jarvis logs {agent.id}")
    colour = raw or (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    sys.stdout.write(sup.tmux.capture(agent.pane_id, escapes=colour).rstrip("\n") + "\n")
    return EXIT_OK


def _write_lines(lines: Sequence[str]) -> None:
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


def cmd_attach(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    agent = sup.get(args.id)
    if not agent.tmux_session or not sup.tmux.has_session(agent.tmux_session):
        raise CliError(f"agent {agent.id} has no tmux session ({agent.status}); see: jarvis logs {agent.id}")
    argv = sup.tmux.attach_argv(agent.tmux_session, status=attach_label(agent))
    if args.print:
        print(shlex.join(argv))
        return EXIT_OK
    if not sys.stdin.isatty():
        raise CliError("attach needs a terminal (or use --print to get the tmux command)", EXIT_USAGE)
    print(f"jarvis: attaching to {agent.id}; {detach_hint('TMUX' in os.environ)}", file=sys.stderr, flush=True)
    os.execvpe(argv[0], argv, sup.tmux.attach_env())  # (does not return)


def cmd_send(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    text = sys.stdin.read() if args.text == "-" else args.text
    if args.text == "-":
        text = text.rstrip("\n")
    agent = sup.send(args.id, text, enter=not args.no_enter)
    if args.json:
        emit_json(agent.to_json())
    else:
        print(sent_message(agent.id, text, enter=not args.no_enter))
    return EXIT_OK


def cmd_fire(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    agent = sup.fire(args.id, args.reason, args.note or "")
    if args.json:
        emit_json(agent.to_json())
    else:
        print(fired_message(agent, args.reason))
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    agent = sup.retry(args.id, fresh=args.fresh)
    engine_on_demand(sup, agent)
    return print_new_agent(agent, args.json)


def cmd_rm(args: argparse.Namespace) -> int:
    """Every id is tried; one line (or JSON object) per id; non-zero if any was refused."""
    sup = open_supervisor(args)
    sup.reconcile()
    results, code = try_each(
        args.ids,
        sup.remove,
        done="removed",
        record=lambda agent: agent.to_json() | {"preserved_ref": agent.preserved_ref, "error": None},
        say=removed_message,
        as_json=args.json,
    )
    if args.json:
        emit_json(results)
    return code


__all__ = [
    "cmd_attach",
    "cmd_fire",
    "cmd_logs",
    "cmd_ls",
    "cmd_retry",
    "cmd_rm",
    "cmd_send",
    "cmd_show",
    "cmd_spawn",
    "print_new_agent",
]
