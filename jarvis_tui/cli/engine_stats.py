"""``jarvis engine`` (the loop without a dashboard), ``jarvis stats``, and starting an engine on
demand after a command left work that needs one (queued agents, backoffs, timeouts)."""

from __future__ import annotations

import argparse
import os
import sys

from ..engine.models import Agent
from ..engine.supervisor import Supervisor
from ..engine.tmux import TmuxError
from ..format import duration, money, tokens_short
from .common import EXIT_OK, console, emit_json, open_supervisor


def engine_on_demand(sup: Supervisor, agent: Agent) -> None:
    """Queued work, backoffs and timeouts need a loop after this command exits: start one."""
    from ..engine.headless import ensure_engine, needs_engine

    if os.environ.get("JARVIS_NO_ENGINE") or not needs_engine(sup, agent):
        return
    try:
        ensure_engine(sup)
    except (TmuxError, OSError) as exc:
        print(
            f"jarvis: warning: could not start the engine ({exc}); run 'jarvis engine' "
            f"or open the dashboard so queued agents start",
            file=sys.stderr,
        )


def cmd_engine(args: argparse.Namespace) -> int:
    from ..engine.headless import serve

    sup = open_supervisor(args)
    result = serve(
        sup,
        interval=args.interval,
        idle_exit=args.idle_exit,
        once=args.once,
        out=sys.stderr if args.json else sys.stdout,
    )
    if args.json:
        emit_json(
            None
            if result is None
            else {
                "leader": result.leader,
                "reading": {"cpu": result.reading.cpu, "ram": result.reading.ram},
                "changed": [a.id for a in result.changed],
                "started": [a.id for a in result.started],
                "actions": [act.to_json() for act in result.actions],
            }
        )
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from ..engine.metrics import profile_stats

    sup = open_supervisor(args)
    sup.reconcile()
    if args.by == "kind":
        return _stats_by_kind(sup, args.json)
    stats = profile_stats(sup.registry, sup.config)
    if args.json:
        emit_json(stats)
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in (
        "PROFILE",
        "DISPATCHED",
        "RUN",
        "QUEUED",
        "DONE",
        "MERGED",
        "FAILED",
        "FIRED",
        "SUCCESS",
        "MEDIAN",
        "MEAN",
        "HOURS",
        "TOKENS",
        "USD",
        "$/DONE",
    ):
        table.add_column(column, no_wrap=True, justify="left" if column == "PROFILE" else "right")
    for row in stats:
        fired = str(row["fired"])
        if row["fired_by_reason"]:
            fired += " (" + ", ".join(f"{k} {v}" for k, v in sorted(row["fired_by_reason"].items())) + ")"
        rate = "-" if row["success_rate"] is None else f"{row['success_rate'] * 100:.0f}%"
        table.add_row(
            row["profile"],
            str(row["dispatched"]),
            str(row["running"]),
            str(row["queued"]),
            str(row["done"]),
            str(row["merged"]),
            str(row["failed"]),
            fired,
            rate,
            duration(row["median_time_to_done"]),
            duration(row["mean_time_to_done"]),
            f"{row['hours']:.2f}",
            tokens_short(sum(row["tokens"].values()) or None),
            money(row["cost_usd"] if row["cost_source"] else None, row["cost_source"]),
            money(row["cost_per_success"], row["cost_source"]),
        )
    console().print(table)
    return EXIT_OK


def _stats_by_kind(sup: Supervisor, as_json: bool) -> int:
    from ..engine.metrics import by_kind

    rows = by_kind(sup.registry)
    if as_json:
        emit_json(rows)
        return EXIT_OK
    from rich.table import Table

    out = console()
    if not rows:
        out.print("nothing has ended yet: spawn tasks with --kind, and --agent auto learns from how they end")
        return EXIT_OK
    table = Table(
        box=None, pad_edge=False, header_style="bold", title="what --agent auto learns from", title_justify="left"
    )
    for column in ("KIND", "PROFILE", "ATTEMPTS", "DONE", "FAILED", "SUCCESS", "MEDIAN", "$/DONE"):
        table.add_column(column, no_wrap=True, justify="left" if column in ("KIND", "PROFILE") else "right")
    for row in rows:
        for i, p in enumerate(row["profiles"]):
            table.add_row(
                (row["kind"] or "(none)") if i == 0 else "",
                p["profile"],
                str(p["attempts"]),
                str(p["successes"]),
                str(p["failures"]),
                f"{p['success_rate'] * 100:.0f}%",
                duration(p["median_time_to_done"]),
                money(p["cost_per_success"]),
            )
    out.print(table)
    together = Table(
        box=None,
        pad_edge=False,
        header_style="bold",
        title="time to done alone vs alongside others",
        title_justify="left",
    )
    for column in ("KIND", "ALONE", "MEDIAN ALONE", "ALONGSIDE", "MEDIAN ALONGSIDE", "MEAN OTHERS"):
        together.add_column(column, no_wrap=True, justify="left" if column == "KIND" else "right")
    for row in rows:
        mean = row["mean_concurrency"]
        together.add_row(
            row["kind"] or "(none)",
            str(row["alone"]["done"]),
            duration(row["alone"]["median_time_to_done"]),
            str(row["alongside"]["done"]),
            duration(row["alongside"]["median_time_to_done"]),
            "-" if mean is None else f"{mean:.1f}",
        )
    out.print(together)
    return EXIT_OK
