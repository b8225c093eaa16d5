"""``jarvis``: the command-line face over the engine.

Every reading command takes ``--json`` (stable schema, see README) and reconciles before it
answers. Exit codes: 0 ok, 1 the operation failed, 2 bad input or config, 3 unknown agent id,
130 interrupted. Textual is imported only by ``jarvis tui`` / ``jarvis demo``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .engine.config import Config, ConfigError, load_config
from .engine.vocabulary import FIRE_REASONS, PRIORITIES
from .engine.models import ENDED, STATUSES, Agent
from .engine.registry import RegistryError
from .engine.supervisor import Supervisor, SupervisorError, UsageError
from .engine.tmux import TmuxError
from .engine.git.worktrees import WorktreeError
from .format import ago, duration, one_line, status_style

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- helpers


def open_supervisor(args: argparse.Namespace) -> Supervisor:
    config = load_config(getattr(args, "config", None))
    sup = Supervisor(config)
    args.opened = sup  # main() checks afterwards whether queued work needs an engine loop
    return sup


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    # Piped output is not squeezed into 80 columns: scripts and `grep` get whole rows.
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 240)


def plain(text: object) -> str:
    """User and agent text inside Rich markup: escaped, so '[y/N]' shows and '[/x]' cannot crash."""
    from rich.markup import escape

    return escape(str(text))


def read_prompt(args: argparse.Namespace) -> str:
    if args.prompt_file and args.prompt is not None:
        raise CliError("give the prompt as an argument OR --prompt-file, not both", EXIT_USAGE)
    if args.prompt_file:
        source = args.prompt_file
        data = sys.stdin.buffer.read() if source == "-" else _read_file(source)
    elif args.prompt == "-":
        data = sys.stdin.buffer.read()
    elif args.prompt is not None:
        return str(args.prompt)
    else:
        raise CliError("no prompt: pass PROMPT, --prompt-file FILE, or '-' to read stdin", EXIT_USAGE)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"the prompt is not UTF-8 text ({exc.reason} at byte {exc.start})", EXIT_USAGE) from None


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read prompt file {path}: {exc.strerror}", EXIT_USAGE) from None


# --------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace) -> int:
    from .engine.init import init_config

    path, notes = init_config(Path(args.path), force=args.force, repo=args.repo)
    if args.json:
        emit_json({"config": str(path), "notes": notes})
    else:
        print(f"wrote {path}")
        for note in notes:
            print(f"  {note}")
        print("next: jarvis spawn --agent demo 'Say hello'   then: jarvis")
    return EXIT_OK


def print_new_agent(agent: Agent, as_json: bool) -> int:
    """spawn/retry output: the id on stdout (or the record), and why it is not running yet."""
    if as_json:
        emit_json(agent.to_json())
        return EXIT_OK
    print(agent.id)
    if agent.status != "working":
        reason = agent.queue_reason or agent.status_reason
        print(f"{agent.id} is {agent.status}" + (f": {reason}" if reason else ""), file=sys.stderr)
    return EXIT_OK


def cmd_spawn(args: argparse.Namespace) -> int:
    prompt = read_prompt(args)
    sup = open_supervisor(args)
    agent = sup.spawn(prompt, agent=args.agent, title=args.title, priority=args.priority,
                      after=args.after, max_attempts=args.max_attempts)
    _engine_on_demand(sup, agent)
    return print_new_agent(agent, args.json)


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
    for column in ("ID", "STATUS", "AGENT", "PRI", "#", "TITLE", "BRANCH", "RUNTIME", "OUTPUT"):
        table.add_column(column, no_wrap=column != "TITLE", overflow="ellipsis")
    for a in agents:
        style, symbol = status_style(a.status)
        table.add_row(
            a.id, f"[{style}]{symbol} {a.status}[/]" + (" [dim](removed)[/]" if a.removed else ""),
            a.agent, a.priority, str(a.attempt),
            plain(one_line(a.title, 40)), plain(a.branch or "-"), duration(a.runtime(now)),
            ago(a.last_output_at, now),
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
    rows = [
        ("task", f"{agent.task_id} (attempt {agent.attempt})"),
        ("agent", agent.agent), ("priority", agent.priority),
        ("reason", agent.status_reason or agent.queue_reason or "-"),
        ("branch", agent.branch or "-"), ("worktree", agent.worktree or "-"),
        ("tmux", f"{agent.tmux_session or '-'} (socket {sup.tmux.socket})"),
        ("pid", str(agent.pid or "-")), ("exit code", str(agent.exit_code if agent.exit_code is not None else "-")),
        ("commits ahead", str(data["commits_ahead"])),
        ("last commit", data["last_commit"]["subject"] if data["last_commit"] else "-"),
        ("dirty", {True: "yes", False: "no", None: "-"}[data["dirty"]]),
        ("preserved", agent.preserved_ref or "-"),
        ("log", data["log"]),
    ]
    if agent.retry_context:
        rows.append(("retry of", agent.retry_context))
    if agent.summary:
        rows.append(("summary", agent.summary))
    for key, value in rows:
        out.print(f"  [dim]{key:<14}[/] {plain(value)}")
    for fire in agent.fires:
        note = f": {fire.note}" if fire.note else ""
        out.print(f"  [red]fired[/] {plain(fire.reason + note)} → {plain(fire.ref or 'no ref')}")
    for decision in data["decisions"]:
        out.print(f"  [yellow]policy[/] {plain(decision['decision'])}: {plain(decision['note'])}")
    out.print("  [dim]prompt[/]")
    for line in agent.prompt.splitlines() or [""]:
        out.print("    " + line, markup=False)
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    from .engine.logs import LogTail

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
            lines = (lines + batch)[-args.lines:]
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
    argv = sup.tmux.attach_argv(agent.tmux_session)
    if args.print:
        print(shlex.join(argv))
        return EXIT_OK
    if not sys.stdin.isatty():
        raise CliError("attach needs a terminal (or use --print to get the tmux command)", EXIT_USAGE)
    os.execvpe(argv[0], argv, sup.tmux.attach_env())
    return EXIT_OK  # pragma: no cover - exec does not return


def cmd_send(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    text = sys.stdin.read() if args.text == "-" else args.text
    if args.text == "-":
        text = text.rstrip("\n")
    agent = sup.send(args.id, text, enter=not args.no_enter)
    if args.json:
        emit_json(agent.to_json())
    return EXIT_OK


def cmd_fire(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    agent = sup.fire(args.id, args.reason, args.note or "")
    if args.json:
        emit_json(agent.to_json())
    else:
        ref = agent.fires[-1].ref if agent.fires else None
        print(f"fired {agent.id} ({args.reason}); work preserved at {ref or '(nothing to preserve)'}; "
              f"branch {agent.branch or '-'} kept")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    agent = sup.retry(args.id, fresh=args.fresh)
    _engine_on_demand(sup, agent)
    return print_new_agent(agent, args.json)


def cmd_rm(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    removed = [sup.remove(ident) for ident in args.ids]
    if args.json:
        emit_json([a.to_json() | {"preserved_ref": a.preserved_ref} for a in removed])
    else:
        for agent in removed:
            kept = f"; uncommitted work kept at {agent.preserved_ref}" if agent.preserved_ref else ""
            print(f"removed {agent.id}; branch {agent.branch or '-'} kept{kept}")
    return EXIT_OK


def cmd_heartbeat(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    agent = sup.heartbeat(_self_id(args), args.note)
    if args.json:
        emit_json(agent.to_json())
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    agent = sup.report(_self_id(args), args.status, args.summary or "")
    if args.json:
        emit_json(agent.to_json())
    return EXIT_OK


def _self_id(args: argparse.Namespace) -> str:
    ident = getattr(args, "id", None) or os.environ.get("JARVIS_AGENT_ID")
    if not ident:
        raise CliError("no agent id: run inside an agent's session (JARVIS_AGENT_ID) or pass --id", EXIT_USAGE)
    return ident


def cmd_doctor(args: argparse.Namespace) -> int:
    from .engine.doctor import run_checks

    checks = run_checks(getattr(args, "config", None), fix=args.fix, adopt=args.adopt)
    if args.json:
        emit_json([c.to_json() for c in checks])
    else:
        out = console()
        marks = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}
        for check in checks:
            out.print(f"{marks[check.level]} {plain(check.name)}: {plain(check.detail)}")
            for line in check.hints:
                out.print(f"    [dim]{plain(line)}[/]")
    return EXIT_FAILED if any(c.level == "fail" for c in checks) else EXIT_OK


# ---- BEGIN supervision policies (issue 4): jarvis engine, jarvis stats, engine on demand ----


def _engine_on_demand(sup: Supervisor, agent: Agent) -> None:
    """Queued work, backoffs and timeouts need a loop after this command exits: start one."""
    from .engine.headless import ensure_engine, needs_engine

    if os.environ.get("JARVIS_NO_ENGINE") or not needs_engine(sup, agent):
        return
    try:
        ensure_engine(sup)
    except (TmuxError, OSError) as exc:
        print(f"jarvis: warning: could not start the engine ({exc}); run 'jarvis engine' "
              f"or open the dashboard so queued agents start", file=sys.stderr)


def _loop_on_demand(args: argparse.Namespace) -> None:
    """After any command: if queued agents or policies need a loop and no live process holds
    the engine lease (a killed dashboard or engine), start the headless engine."""
    sup = getattr(args, "opened", None)
    if sup is None or args.func in (cmd_engine, cmd_tui, cmd_demo) or os.environ.get("JARVIS_NO_ENGINE"):
        return
    from .engine.headless import handoff

    try:
        handoff(sup)
    except Exception as exc:  # the command itself succeeded: say it, do not fail it
        print(f"jarvis: warning: could not start the engine ({exc}); run 'jarvis engine'", file=sys.stderr)


def cmd_engine(args: argparse.Namespace) -> int:
    from .engine.headless import serve

    sup = open_supervisor(args)
    result = serve(sup, interval=args.interval, idle_exit=args.idle_exit, once=args.once,
                   out=sys.stderr if args.json else sys.stdout)
    if args.json:
        emit_json(None if result is None else {
            "leader": result.leader,
            "reading": {"cpu": result.reading.cpu, "ram": result.reading.ram},
            "changed": [a.id for a in result.changed],
            "started": [a.id for a in result.started],
            "actions": [act.to_json() for act in result.actions],
        })
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from .engine.metrics import profile_stats

    sup = open_supervisor(args)
    sup.reconcile()
    stats = profile_stats(sup.registry, sup.config)
    if args.json:
        emit_json(stats)
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("PROFILE", "DISPATCHED", "RUN", "QUEUED", "DONE", "FAILED", "FIRED", "SUCCESS",
                   "MEDIAN", "MEAN", "HOURS", "COST"):
        table.add_column(column, no_wrap=True, justify="left" if column == "PROFILE" else "right")
    for row in stats:
        fired = str(row["fired"])
        if row["fired_by_reason"]:
            fired += " (" + ", ".join(f"{k} {v}" for k, v in sorted(row["fired_by_reason"].items())) + ")"
        rate = "-" if row["success_rate"] is None else f"{row['success_rate'] * 100:.0f}%"
        table.add_row(row["profile"], str(row["dispatched"]), str(row["running"]), str(row["queued"]),
                      str(row["done"]), str(row["failed"]), fired, rate,
                      duration(row["median_time_to_done"]), duration(row["mean_time_to_done"]),
                      f"{row['hours']:.2f}", f"{row['cost']:.2f}")
    console().print(table)
    return EXIT_OK


# ---- END supervision policies ----


def cmd_tui(args: argparse.Namespace) -> int:
    from .tui.app import run_dashboard

    return run_dashboard(getattr(args, "config", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from .tui.app import run_demo

    return run_demo(keep=args.keep, no_tui=args.no_tui)


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $JARVIS_CONFIG, else ./config.toml)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(
        prog="jarvis", parents=[common],
        description="Supervise long-running coding agents: each in its own tmux session and git worktree.",
        epilog="With no command, opens the dashboard. Exit codes: 0 ok, 1 failed, 2 bad input/config, 3 unknown id.",
    )
    parser.add_argument("--version", action="version", version=f"jarvis-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str, *, json_flag: bool = True,
            **kwargs: Any) -> argparse.ArgumentParser:
        parents = [common, as_json] if json_flag else [common]
        p = sub.add_parser(name, parents=parents, help=help, description=help, **kwargs)
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "write a commented config.toml and git-ignore the runtime folders")
    p.add_argument("path", nargs="?", default="config.toml", help="where to write (default ./config.toml)")
    p.add_argument("--repo", default=".", help="the git repository agents will work on (default .)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = add("spawn", cmd_spawn, "start an agent on a new worktree and branch (prints its id)")
    p.add_argument("prompt", nargs="?", help="the task; '-' reads stdin (use -- before a prompt starting with '-')")
    p.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE ('-' for stdin)")
    p.add_argument("--agent", "-a", metavar="PROFILE", help="agent profile from config (default: the first)")
    p.add_argument("--title", "-t", help="short title (default: the prompt's first line)")
    p.add_argument("--priority", "-p", choices=PRIORITIES, default="medium")
    p.add_argument("--after", metavar="ID", help="start only when that task is done")
    p.add_argument("--max-attempts", type=int, metavar="N", help="automatic attempts on failure (overrides the profile)")

    p = add("ls", cmd_ls, "list agents (latest attempt of each task)")
    p.add_argument("--all", action="store_true", help="include removed agents and earlier attempts")
    p.add_argument("--status", action="append", choices=STATUSES, help="only these statuses (repeatable)")

    p = add("show", cmd_show, "one agent in full: prompt, git state, attempts, fires")
    p.add_argument("id")

    p = add("logs", cmd_logs, "an agent's output", json_flag=False)
    p.add_argument("id")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the agent ends")
    p.add_argument("-n", "--lines", type=int, default=0, metavar="N", help="only the last N lines")
    p.add_argument("--raw", action="store_true", help="the raw terminal stream, escapes and all")
    p.add_argument("--screen", action="store_true",
                   help="the pane as it looks now (for full-screen agents such as Claude Code)")

    p = add("attach", cmd_attach, "attach to an agent's tmux session (detach: ctrl-b d)", json_flag=False)
    p.add_argument("id")
    p.add_argument("--print", action="store_true", help="print the tmux command instead of running it")

    p = add("send", cmd_send, "type a line into an agent (e.g. answer its question)")
    p.add_argument("id")
    p.add_argument("text", help="the text; '-' reads stdin")
    p.add_argument("--no-enter", action="store_true", help="do not press Enter after the text")

    p = add("fire", cmd_fire, "stop an agent, preserve all its work to refs/jarvis/fired/<id>, record why")
    p.add_argument("id")
    p.add_argument("--reason", "-r", required=True, choices=FIRE_REASONS)
    p.add_argument("--note", "-m", help="free text kept with the fire record")

    p = add("retry", cmd_retry, "a new attempt of an ended agent's task (from its files, or --fresh)")
    p.add_argument("id")
    p.add_argument("--fresh", action="store_true", help="start from base instead of the last attempt's files")

    p = add("rm", cmd_rm, "clean up finished agents (branch and uncommitted work are kept)")
    p.add_argument("ids", nargs="+", metavar="ID")

    p = add("heartbeat", cmd_heartbeat, "(for agents) I am alive; resets silence detection")
    p.add_argument("--note", help="what I am doing")
    p.add_argument("--id", help=argparse.SUPPRESS)

    p = add("report", cmd_report, "(for agents) report my outcome")
    p.add_argument("--status", required=True, choices=("done", "failed"))
    p.add_argument("--summary", help="one line on what was done")
    p.add_argument("--id", help=argparse.SUPPRESS)

    p = add("doctor", cmd_doctor, "check tmux, git, config, registry and orphans (changes nothing without a flag)")
    p.add_argument("--fix", action="store_true",
                   help="end orphan sessions and processes; preserve orphan worktrees to refs/jarvis/orphan/* "
                        "and remove them")
    p.add_argument("--adopt", action="store_true",
                   help="rebuild a lost or corrupt registry from the agents' records (sessions/<id>/spec.json)")
    # ---- BEGIN supervision policies (issue 4) ----
    p = add("engine", cmd_engine, "run the engine loop without a dashboard: queue, retries, timeouts, guards")
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between ticks (default 1)")
    p.add_argument("--idle-exit", type=float, default=60.0, metavar="S",
                   help="exit after S seconds with nothing active or queued (default 60; 0: never)")
    add("stats", cmd_stats, "per-profile metrics: dispatched, done, failed, fired, success rate, time, cost")
    # ---- END supervision policies ----
    add("tui", cmd_tui, "open the dashboard (the default command)", json_flag=False)
    p = add("demo", cmd_demo, "scratch repo + three demo agents + the dashboard (no LLM CLI needed)",
            json_flag=False)
    p.add_argument("--keep", action="store_true", help="keep the scratch folder and agents after quitting")
    p.add_argument("--no-tui", action="store_true", help="set up and spawn, print the config path, do not open the dashboard")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        args.func = cmd_tui
    wants_json = bool(getattr(args, "json", False))
    try:
        code = args.func(args)
        _loop_on_demand(args)
        return code
    except ConfigError as exc:
        return _fail(exc.render(), EXIT_USAGE, wants_json)
    except (CliError, SupervisorError) as exc:
        code = exc.code if isinstance(exc, CliError) else exc.exit_code
        return _fail(f"jarvis: {exc}", code, wants_json)
    except (TmuxError, WorktreeError, RegistryError) as exc:
        return _fail(f"jarvis: {exc}", EXIT_FAILED, wants_json)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _fail(message: str, code: int, wants_json: bool) -> int:
    print(message, file=sys.stderr)
    if wants_json:
        emit_json({"error": message.removeprefix("jarvis: "), "exit_code": code})
    return code


__all__ = ["main", "build_parser", "Config", "Agent", "UsageError"]
