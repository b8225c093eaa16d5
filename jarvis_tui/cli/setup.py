"""Commands around the agents: ``init``, ``doctor``, and the dashboard's ``tui`` and ``demo``
(the only ones that import Textual, and only when run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, console, emit_json, plain


def cmd_init(args: argparse.Namespace) -> int:
    from ..engine import presets
    from ..engine.init import init_config

    try:
        agents = presets.parse_names(args.agents) if args.agents is not None else list(presets.ALL)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    path, notes = init_config(
        Path(args.path), force=args.force, repo=args.repo, exclude_config=args.exclude_config, agents=agents
    )
    if args.json:
        emit_json({"config": str(path), "notes": notes})
    else:
        print(f"wrote {path}")
        for note in notes:
            print(f"  {note}")
        first = "demo" if "demo" in agents else agents[0]
        print(f"next: jarvis spawn --agent {first} 'Say hello'   then: jarvis")
    return EXIT_OK


def cmd_profiles(args: argparse.Namespace) -> int:
    """The presets: what each runs, whether it is installed here, and whether the config has it."""
    from ..engine import presets
    from ..engine.config import ConfigError, load_config
    from ..engine.config_text import tables

    if args.toml:
        try:
            name = presets.parse_names(args.toml)[0]
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        text = tables("agents", {name: presets.preset(name)})
        if args.json:
            emit_json({"profile": name, "toml": text})
        else:
            sys.stdout.write(text)
        return EXIT_OK
    try:
        config = load_config(getattr(args, "config", None), check_repo=False)
    except ConfigError:
        config = None  # no config here yet: the presets alone
    rows = presets.describe()
    for row in rows:
        row["configured"] = config is not None and row["name"] in config.profiles
    if args.json:
        emit_json(rows)
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("PRESET", "PROGRAM", "INSTALLED", "IN CONFIG", "MODEL", "COST/H", "SIGNALS", "TOKENS", "ROLE"):
        table.add_column(column, no_wrap=column != "ROLE")
    for row in rows:
        table.add_row(
            row["name"],
            row["program"],
            "[green]yes[/]" if row["installed"] else "[red]no[/]",
            "yes" if row["configured"] else "-",
            plain(row["model"] or "-"),
            f"{row['cost_weight']:g}",
            plain(row["hooks"] or "screen"),
            plain(row["transcripts"] or "estimate"),
            plain(row["role"]),
        )
    out = console()
    out.print(table)
    out.print(
        "[dim]add one: jarvis profiles --toml NAME >> config.toml · a new config with some: "
        "jarvis init --agents claude,codex[/]"
    )
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..engine.doctor import run_checks

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


def cmd_tui(args: argparse.Namespace) -> int:
    from ..tui.run import run_dashboard

    return run_dashboard(getattr(args, "config", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from ..tui.run import run_demo

    return run_demo(keep=args.keep, no_tui=args.no_tui)
