"""Commands around the agents: ``init``, ``doctor``, and the dashboard's ``tui`` and ``demo``
(the only ones that import Textual, and only when run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, console, emit_json, plain


def cmd_init(args: argparse.Namespace) -> int:
    from ..engine.init import init_config

    path, notes = init_config(Path(args.path), force=args.force, repo=args.repo, exclude_config=args.exclude_config)
    if args.json:
        emit_json({"config": str(path), "notes": notes})
    else:
        print(f"wrote {path}")
        for note in notes:
            print(f"  {note}")
        print("next: jarvis spawn --agent demo 'Say hello'   then: jarvis")
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
