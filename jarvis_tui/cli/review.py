"""Commands that close the loop on an agent's work: ``review``, ``check``, ``merge``,
``conflicts`` and ``prune``."""

from __future__ import annotations

import argparse
import re
import sys

from ..engine import checks, reviewing
from ..engine.merging import MergeConflict
from .common import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, CliError, console, emit_json, open_supervisor, plain

_STATUS_MARK = {"added": "A", "modified": "M", "deleted": "D", "renamed": "R", "copied": "C", "type changed": "T"}


def cmd_review(args: argparse.Namespace) -> int:
    ident, diff = args.id, args.diff
    if ident is None and isinstance(diff, str):  # `review --diff ID`: the id was taken for a path
        ident, diff = diff, True
    if ident is None:
        raise CliError("jarvis review: which agent? (jarvis review ID [--diff [PATH]])", EXIT_USAGE)
    sup = open_supervisor(args)
    sup.reconcile()
    agent, found = sup.review(ident, into=args.into)
    if diff:
        sys.stdout.write(reviewing.patch(sup, found, diff if isinstance(diff, str) else args.path))
        return EXIT_OK
    if args.json:
        emit_json(reviewing.to_json(agent, found))
        return EXIT_OK
    out = console()
    preview = found.preview
    colour = {"clean": "green", "conflicts": "red", "already merged": "blue"}.get(str(preview.status), "")
    out.print(
        f"[bold]{agent.id}[/] ({agent.status}) against [bold]{plain(found.into)}[/] "
        f"at {found.target_tip[:10]}: [{colour}]{plain(preview.summary)}[/]"
    )
    if agent.check:
        out.print(f"  check: {agent.check}")
    out.print(
        f"  {len(found.commits)} commit(s) ahead"
        + ("; uncommitted changes included below" if found.uncommitted else "")
    )
    for commit in found.commits[:20]:
        out.print(f"    {commit.sha[:10]} {plain(commit.subject)} [dim]({plain(commit.author)})[/]")
    out.print(f"  {len(found.files)} file(s):")
    for change in found.files:
        counts = "binary" if change.binary else f"+{change.added} -{change.deleted}"
        name = f"{change.old_path} -> {change.path}" if change.old_path else change.path
        out.print(f"    {_STATUS_MARK.get(str(change.status), '?')} {plain(name)}  [dim]{counts}[/]")
    for other in agent.live_overlaps:
        out.print(f"  [yellow]overlaps with {other}[/] (jarvis conflicts)")
    if agent.out_of_scope:
        out.print(f"  [yellow]outside its scope:[/] {plain(', '.join(agent.out_of_scope))}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    try:
        agent = sup.check(args.id)
    except checks.CheckRunning as exc:
        if args.no_wait:
            raise
        # One check at a time: a second `jarvis check` joins the one running and gives its result.
        print(f"check of {exc.agent_id} already running: waiting for its result", file=sys.stderr)
        agent = sup.get(exc.agent_id)
    if not args.no_wait:
        agent = checks.wait(sup, agent.id, args.timeout)
    log_file = checks.log_path(sup, agent.id)
    if args.json:
        emit_json({"id": agent.id, "check": agent.check, "log": str(log_file)})
    else:
        print(f"check of {agent.id}: {agent.check}; log: {log_file}")
        if agent.check_state == "failed":
            tail = log_file.read_text(errors="replace").splitlines()[-15:]
            print("\n".join("  " + line for line in tail), file=sys.stderr)
    if agent.check_state == "running" and not args.no_wait:
        # Not a pass: `jarvis check ID --timeout 60 && jarvis merge ID` must not merge unchecked work.
        print(
            f"jarvis: no result after {args.timeout:g}s; the check goes on (jarvis check {agent.id} waits again)",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    return EXIT_FAILED if agent.check_state == "failed" else EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    try:
        merged = sup.merge(
            args.id,
            strategy=args.strategy,
            into=args.into,
            message=args.message,
            dry_run=args.dry_run,
            include_uncommitted=args.include_uncommitted,
            force_ended=args.force_ended,
            delete_branch=args.delete_branch,
        )
    except MergeConflict as exc:
        if args.json:
            emit_json({"error": str(exc), "exit_code": EXIT_FAILED, "conflicts": exc.paths})
        print(f"jarvis: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        emit_json(merged.to_json())
        return EXIT_OK
    result = merged.result
    print(("dry run: " if result.dry_run else f"merged {merged.agent.id}: ") + result.summary)
    for note in merged.notes:
        print(f"  {note}")
    return EXIT_OK


def cmd_conflicts(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    sup.reconcile()
    pairs = sup.conflicts()
    if args.json:
        emit_json(pairs)
        return EXIT_OK
    if not pairs:
        print("no two live agents touch the same files")
        return EXIT_OK
    for pair in pairs:
        verdict = (
            f"would CONFLICT in {', '.join(pair['conflicting_paths'])}" if pair["conflict"] else "would merge cleanly"
        )
        print(f"{pair['agents'][0]} and {pair['agents'][1]}: {len(pair['paths'])} shared path(s), {verdict}")
        for path in pair["paths"][:10]:
            print(f"    {path}")
    return EXIT_OK


def parse_age(text: str) -> float:
    """``7d``, ``12h``, ``30m``, ``90s`` (or plain seconds) to seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw]?)", text.strip())
    if not match:
        raise CliError(f"--older-than {text!r}: give a number with a unit, e.g. 7d, 12h, 30m", 2)
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * scale


def cmd_prune(args: argparse.Namespace) -> int:
    sup = open_supervisor(args)
    rows = sup.prune(
        merged_only=args.merged,
        older_than=parse_age(args.older_than) if args.older_than else None,
        dry_run=args.dry_run,
    )
    if args.json:
        emit_json(rows)
        return EXIT_OK
    if not rows:
        age = f" older than {args.older_than}" if args.older_than else ""
        which = "merged agent" if args.merged else "removed or merged agent"
        print(f"nothing to prune: no {which}{age} has refs left")
        return EXIT_OK
    for row in rows:
        if row["deleted"] or (args.dry_run and row["state"] == "contained"):
            verb = "would delete" if args.dry_run else "deleted"
            print(f"{verb} {row['ref']} ({row['sha'][:12]}); get it back: {row['restore']}")
        else:
            print(f"kept {row['ref']}: {row['reason']}")
    return EXIT_OK


__all__ = ["cmd_check", "cmd_conflicts", "cmd_merge", "cmd_prune", "cmd_review", "parse_age"]
