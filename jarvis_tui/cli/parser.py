"""The ``jarvis`` argument parser: every command and its options (the longer help texts and
the examples are in :mod:`.help_text`)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any, NoReturn, cast

from .. import __version__
from ..engine.messaging import STATES
from ..engine.models import STATUSES
from ..engine.presets import ALL as ALL_PRESETS
from ..engine.vocabulary import FIRE_REASONS, PRIORITIES
from ..engine.waiting import UNTIL_HELP
from .help_text import BATCH_HELP, EXAMPLES, ID_HELP, PRIORITY_HELP, REASON_HELP, SELF_ID_HELP, agent_help


def command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """``jarvis_tui.cli.<module>.<name>``, imported only when that command runs: a CLI call
    pays for its own command, not for every command's imports (the CLI's start-up is part of
    every spawn an orchestrator makes)."""

    def run(args: argparse.Namespace) -> int:
        module_object = importlib.import_module(f"jarvis_tui.cli.{module}")
        return int(getattr(module_object, name)(args))

    run.__name__ = name
    return run


class _Skipped:
    """What ``add`` gives back for a command this call will not parse: its options are not
    built (argparse takes ~5 ms to build all of them, on every spawn an orchestrator makes)."""

    epilog = ""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_mutually_exclusive_group(self, **kwargs: Any) -> _Skipped:
        return self

    def set_defaults(self, **kwargs: Any) -> None:
        return None


def command_word(argv: list[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option or --config's value);
    ``""`` when it names none (the dashboard), None when that cannot be told (a ``--``)."""
    after_config = False
    for arg in argv:
        if after_config:
            after_config = False
        elif arg == "--config":
            after_config = True
        elif arg == "--" or not arg.startswith("-"):
            return None if arg == "--" else arg
    return ""


class Parser(argparse.ArgumentParser):
    """argparse, keeping a usage error's message: with ``--json`` it is also printed as
    ``{"error", "exit_code": 2}`` on stdout, like every other failure (see ``cli.main``).
    Subcommand parsers are of this class too (argparse makes them like their parent)."""

    last_error: str | None = None

    def error(self, message: str) -> NoReturn:
        Parser.last_error = f"{self.prog}: {message}"
        super().error(message)


def json_wanted(parser: argparse.ArgumentParser, args: argparse.Namespace) -> bool:
    """``--json``, given before the command (``jarvis --json ls``) or after it; a usage error
    for a command that has no JSON output (the dashboard, attach, logs...)."""
    wanted = bool(getattr(args, "json", False))
    if wanted and not getattr(args, "takes_json", False):
        what = f"jarvis {args.command}" if getattr(args, "command", None) else "the dashboard"
        parser.error(f"--json: {what} has no JSON output")
    return wanted


def build_parser(default_agent: str | None = None, only: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser, or with ``only`` that command's alone (``""``: none, for the
    dashboard; all of them when ``only`` is not a command: the error lists them)."""
    common = Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: $JARVIS_CONFIG, else ./config.toml)",
    )
    as_json = Parser(add_help=False)  # before or after the command: see json_wanted
    as_json.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")

    parser = Parser(
        prog="jarvis",
        parents=[common, as_json],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Supervise long-running coding agents: each in its own tmux session and git worktree.",
        epilog="With no command, opens the dashboard. Exit codes: 0 ok, 1 failed, 2 bad input/config, "
        "3 unknown id.\n\nexamples:\n  jarvis demo\n  jarvis spawn 'Fix the flaky login test'\n  jarvis",
    )
    parser.add_argument("--version", action="version", version=f"jarvis-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str, *, json_flag: bool = True, **kwargs: Any
    ) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return cast(argparse.ArgumentParser, _Skipped())
        parents = [common, as_json] if json_flag else [common]
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
        p = sub.add_parser(
            name,
            parents=parents,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )
        p.set_defaults(func=func, takes_json=json_flag)
        return p

    p = add("init", command("setup", "cmd_init"), "write a commented config.toml and git-ignore the runtime folders")
    p.add_argument("path", nargs="?", default="config.toml", help="where to write (default ./config.toml)")
    p.add_argument("--repo", default=".", help="the git repository agents will work on (default .)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument(
        "--exclude-config",
        action="store_true",
        help="keep the config out of git: add it to the repository's .git/info/exclude",
    )
    p.add_argument(
        "--agents",
        metavar="LIST",
        help="ready profiles to write, comma-separated: "
        + ", ".join(ALL_PRESETS)
        + " (default: all of them; see jarvis profiles)",
    )

    p = add("spawn", command("agents", "cmd_spawn"), "start an agent on a new worktree and branch (prints its id)")
    p.epilog = (p.epilog or "") + "\n\n" + BATCH_HELP
    p.add_argument("prompt", nargs="?", help="the task; '-' reads stdin (use -- before a prompt starting with '-')")
    p.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE ('-' for stdin)")
    p.add_argument("--agent", "-a", metavar="PROFILE", help=agent_help(default_agent))
    p.add_argument("--title", "-t", help="short title (default: the prompt's first line)")
    p.add_argument("--priority", "-p", choices=PRIORITIES, default="medium", help=PRIORITY_HELP)
    p.add_argument(
        "--after",
        action="append",
        metavar="ID",
        help="start only when that agent's task is done (any unique prefix of its id); repeatable or "
        "a comma list: it starts when ALL are done, and is blocked if one fails or is fired. "
        "{findings} in the prompt becomes what they recorded with jarvis note",
    )
    p.add_argument(
        "--max-attempts", type=int, metavar="N", help="automatic attempts on failure (overrides the profile)"
    )
    p.add_argument(
        "--scope",
        action="append",
        metavar="GLOB",
        help="files this agent may edit (gitignore-style, repeatable, e.g. 'src/auth/**'); it waits "
        "while a running agent's scope overlaps, and writes outside it are flagged",
    )
    p.add_argument(
        "--ticket",
        metavar="T",
        help="an external ticket id (e.g. PROJ-7): shown everywhere, and in the "
        "branch name jarvis/<ticket>-<slug>-<id>",
    )
    p.add_argument(
        "--hold",
        action="store_true",
        help="record it as held: never dispatched until 'jarvis release ID' (a ticket kept for a person)",
    )
    p.add_argument(
        "--base",
        metavar="REV",
        help="the branch or commit to start from (default: [supervisor] base), e.g. the orchestrator's current branch",
    )
    p.add_argument(
        "--batch",
        metavar="FILE",
        help="spawn every task of a JSON batch file ('-': stdin), all checked before any is created",
    )
    p.add_argument(
        "--kind",
        metavar="KIND",
        help="what sort of task this is (review, test, refactor, research... free text): routing and "
        "jarvis stats --by kind learn per kind",
    )
    p.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="USD this agent may spend (priced from its transcript); more and it is fired as budget",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the request and say what would run (with --agent auto: the ranking); spawn nothing",
    )

    p = add("ls", command("agents", "cmd_ls"), "list agents (latest attempt of each task)")
    p.add_argument("--all", action="store_true", help="include removed agents and earlier attempts")
    p.add_argument("--status", action="append", choices=STATUSES, help="only these statuses (repeatable)")

    p = add("show", command("agents", "cmd_show"), "one agent in full: prompt, git state, attempts, fires")
    p.add_argument("id", help=ID_HELP)

    p = add("logs", command("agents", "cmd_logs"), "an agent's output", json_flag=False)
    p.add_argument("id", help=ID_HELP)
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the agent ends")
    p.add_argument("-n", "--lines", type=int, default=0, metavar="N", help="only the last N lines")
    p.add_argument("--raw", action="store_true", help="the raw terminal stream, escapes and all")
    p.add_argument(
        "--screen", action="store_true", help="the pane as it looks now (for full-screen agents such as Claude Code)"
    )

    p = add(
        "attach", command("agents", "cmd_attach"), "attach to an agent's tmux session (detach: ctrl-q)", json_flag=False
    )
    p.add_argument("id", help=ID_HELP)
    p.add_argument("--print", action="store_true", help="print the tmux command instead of running it")

    p = add("send", command("agents", "cmd_send"), "type a line into an agent (e.g. answer its question)")
    p.add_argument("id", help=ID_HELP)
    p.add_argument("text", help="the text; '-' reads stdin")
    p.add_argument("--no-enter", action="store_true", help="do not press Enter after the text")

    p = add(
        "fire",
        command("agents", "cmd_fire"),
        "stop an agent, preserve all its work to refs/jarvis/fired/<id>, record why",
    )
    p.add_argument("id", help=ID_HELP)
    p.add_argument("--reason", "-r", required=True, choices=FIRE_REASONS, metavar="REASON", help=REASON_HELP)
    p.add_argument("--note", "-m", help="free text kept with the fire record")

    p = add(
        "retry", command("agents", "cmd_retry"), "a new attempt of an ended agent's task (from its files, or --fresh)"
    )
    p.add_argument("id", help=ID_HELP)
    p.add_argument("--fresh", action="store_true", help="start from base instead of the last attempt's files")

    p = add(
        "rm",
        command("agents", "cmd_rm"),
        "clean up finished agents (branch and uncommitted work are kept); "
        "tries every id, exits non-zero if any was refused",
    )
    p.add_argument("ids", nargs="+", metavar="ID", help=ID_HELP + "; several may be given")

    p = add("heartbeat", command("self_report", "cmd_heartbeat"), "(for agents) I am alive; resets silence detection")
    p.add_argument("--note", help="what I am doing")
    p.add_argument("--id", help=SELF_ID_HELP)

    p = add(
        "report",
        command("self_report", "cmd_report"),
        "(for agents) report my outcome (--status: ends my run as done or "
        "failed) or what I am doing (--state: working, waiting for input, idle)",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--status", choices=("done", "failed"), help="the outcome: ends the run")
    what.add_argument(
        "--state",
        choices=STATES,
        help="what I am doing now; outranks what jarvis reads off my screen until my output moves on",
    )
    p.add_argument("--summary", help="with --status: one line on what was done")
    p.add_argument("--reason", help="with --state: why (e.g. the question I am asking)")
    p.add_argument(
        "--via",
        default="agent",
        metavar="NAME",
        help="who reports: agent (default), or the tool whose hook calls this (claude: reads the hook's "
        "JSON on stdin; codex: the JSON argument Codex appends)",
    )
    p.add_argument("payload", nargs="?", help=argparse.SUPPRESS)  # Codex's notify appends its JSON here
    p.add_argument("--id", help=SELF_ID_HELP + "; another agent's id needs --force with --status")
    p.add_argument(
        "--force",
        action="store_true",
        help="report --status for --id from outside that agent's session (it ends that agent's run)",
    )

    p = add("review", command("review", "cmd_review"), "what an agent changed, and whether it merges into the base now")
    # `--diff [PATH]` takes its file; the id may come before or after it (cmd_review sorts it out).
    p.add_argument("id", nargs="?", metavar="ID", help=ID_HELP)
    p.add_argument("--into", metavar="BRANCH", help="review against this branch (default: [supervisor] base)")
    p.add_argument(
        "--diff", nargs="?", const=True, default=False, metavar="PATH", help="print the patch instead (PATH: one file)"
    )
    p.add_argument("path", nargs="?", help=argparse.SUPPRESS)  # `review ID PATH --diff`: the path as before

    p = add(
        "check",
        command("review", "cmd_check"),
        "run the configured checks ([review] check) on a copy of an agent's work",
    )
    p.add_argument("id", help=ID_HELP)
    p.add_argument("--no-wait", action="store_true", help="start it and return; the result shows in ls and review")
    p.add_argument(
        "--timeout", type=float, metavar="S", help="stop waiting after S seconds: exit 124 (the check goes on)"
    )

    p = add(
        "merge",
        command("review", "cmd_merge"),
        "merge an ended agent's work into the base branch (nothing changes on conflict)",
    )
    p.add_argument("id", help=ID_HELP)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--squash", dest="strategy", action="store_const", const="squash", help="one commit")
    how.add_argument(
        "--rebase", dest="strategy", action="store_const", const="rebase", help="replay its commits onto the branch"
    )
    how.add_argument("--no-ff", dest="strategy", action="store_const", const="no-ff", help="always a merge commit")
    p.set_defaults(strategy="merge")
    p.add_argument("--into", metavar="BRANCH", help="target branch (default: [supervisor] base)")
    p.add_argument("-m", "--message", help="commit message")
    p.add_argument("--dry-run", action="store_true", help="check everything, change nothing")
    p.add_argument(
        "--include-uncommitted",
        action="store_true",
        help="also merge files the agent left uncommitted (from a snapshot of them)",
    )
    p.add_argument("--force-ended", action="store_true", help="merge a failed or fired agent too")
    p.add_argument("--delete-branch", action="store_true", help="delete the agent's branch once fully merged")

    add(
        "conflicts",
        command("review", "cmd_conflicts"),
        "live agents editing the same files, and whether merging both conflicts",
    )

    p = add(
        "prune",
        command("review", "cmd_prune"),
        "delete refs of removed or merged agents whose work is contained elsewhere",
    )
    p.add_argument("--merged", action="store_true", help="only agents that were merged")
    p.add_argument("--older-than", metavar="AGE", help="only agents that ended longer ago (e.g. 7d, 12h)")
    p.add_argument("--dry-run", action="store_true", help="say what would be deleted")

    p = add(
        "doctor",
        command("setup", "cmd_doctor"),
        "check tmux, git, config, registry and orphans (changes nothing without a flag)",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="end orphan sessions and processes; preserve orphan worktrees to refs/jarvis/orphan/* and remove them",
    )
    p.add_argument(
        "--adopt",
        action="store_true",
        help="rebuild a lost or corrupt registry from the agents' records (sessions/<id>/spec.json)",
    )
    p = add(
        "engine",
        command("engine_stats", "cmd_engine"),
        "run the engine loop without a dashboard: queue, retries, timeouts, guards",
    )
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between ticks (default 1)")
    p.add_argument(
        "--idle-exit",
        type=float,
        default=60.0,
        metavar="S",
        help="exit after S seconds with nothing active or queued (default 60; 0: never)",
    )
    p = add(
        "stats",
        command("engine_stats", "cmd_stats"),
        "per-profile metrics: dispatched, done, failed, fired, success rate, time, tokens, cost",
    )
    p.add_argument(
        "--by",
        choices=("profile", "kind"),
        default="profile",
        help="kind: per task kind and profile (what --agent auto learns from), and time to done alone "
        "versus alongside other agents",
    )
    p = add(
        "profiles",
        command("setup", "cmd_profiles"),
        "the ready profiles for Claude Code, Codex, Gemini CLI, Aider and OpenCode, and whether each is installed",
    )
    p.add_argument("--toml", metavar="NAME", help="print one preset as a config table")
    add("tui", command("setup", "cmd_tui"), "open the dashboard (the default command)", json_flag=False)
    p = add(
        "demo",
        command("setup", "cmd_demo"),
        "scratch repo + three demo agents + the dashboard (no LLM CLI needed)",
        json_flag=False,
    )
    p.add_argument("--keep", action="store_true", help="keep the scratch folder and agents after quitting")
    p.add_argument(
        "--no-tui", action="store_true", help="set up and spawn, print the config path, do not open the dashboard"
    )
    p = add(
        "wait",
        command("orchestrate", "cmd_wait"),
        "block until agents reach a state; exit 0 reached, 1 one ended otherwise, 124 timeout",
    )
    p.add_argument(
        "ids",
        nargs="+",
        metavar="ID",
        help=ID_HELP + "; several may be given (a wait follows each task across its automatic retries)",
    )
    p.add_argument(
        "--until",
        action="append",
        metavar="STATE",
        help="what to wait for (default: ended): " + UNTIL_HELP + "; a comma list or repeated means any of them",
    )
    p.add_argument("--any", action="store_true", help="return when ANY agent reaches it (default: all)")
    p.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (exit 124)")

    p = add(
        "note", command("orchestrate", "cmd_note"), "(for agents) record a finding on my task, for the tasks after it"
    )
    p.add_argument("text", help="the finding; '-' reads stdin")
    p.add_argument("--tag", metavar="T", help="a one-word label (e.g. risk, todo, api)")
    p.add_argument("--task", metavar="ID", help="record it on this agent's task instead (from outside a session)")

    p = add("notes", command("orchestrate", "cmd_notes"), "findings recorded with jarvis note (all, or one task's)")
    p.add_argument("--task", metavar="ID", help="only this agent's task")
    p.add_argument("--tag", metavar="T", help="only notes with this tag")

    p = add("release", command("orchestrate", "cmd_release"), "dispatch a held task (spawn --hold): it joins the queue")
    p.add_argument("ids", nargs="+", metavar="ID", help=ID_HELP)

    p = add(
        "dispatch",
        command("orchestrate", "cmd_dispatch"),
        "start queued agents that admission allows now; --dry-run: what would start, and why the rest wait",
    )
    p.add_argument("--dry-run", action="store_true", help="change nothing: only say what would happen")

    add(
        "mcp",
        command("orchestrate", "cmd_mcp"),
        "serve jarvis to an orchestrating agent over MCP (stdio)",
        json_flag=False,
    )
    if only and only not in sub.choices:
        return build_parser(default_agent)
    return parser
