"""``jarvis engine`` (the loop without a dashboard), ``jarvis stats``, and starting an engine on
demand after a command left work that needs one (queued agents, backoffs, timeouts)."""

from __future__ import annotations

import argparse
import os
import sys

from ..engine.models import Agent
from ..engine.supervisor import Supervisor
from ..engine.tmux import TmuxError
from ..format import duration
from .common import EXIT_OK, console, emit_json, open_supervisor


def engine_on_demand(sup: Supervisor, agent: Agent) -> None:
    """Queued work, backoffs and timeouts need a loop after this command exits: start one."""
    from ..engine.headless import ensure_engine, needs_engine

    if os.environ.get("JARVIS_NO_ENGINE") or not needs_engine(sup, agent):
        return
    try:
        ensure_engine(sup)
    except (TmuxError, OSError) as exc:
        print(f"jarvis: warning: could not start the engine ({exc}); run 'jarvis engine' "
              f"or open the dashboard so queued agents start", file=sys.stderr)


def cmd_engine(args: argparse.Namespace) -> int:
    from ..engine.headless import serve

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
    from ..engine.metrics import profile_stats

    sup = open_supervisor(args)
    sup.reconcile()
    stats = profile_stats(sup.registry, sup.config)
    if args.json:
        emit_json(stats)
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("PROFILE", "DISPATCHED", "RUN", "QUEUED", "DONE", "MERGED", "FAILED", "FIRED", "SUCCESS",
                   "MEDIAN", "MEAN", "HOURS", "COST"):
        table.add_column(column, no_wrap=True, justify="left" if column == "PROFILE" else "right")
    for row in stats:
        fired = str(row["fired"])
        if row["fired_by_reason"]:
            fired += " (" + ", ".join(f"{k} {v}" for k, v in sorted(row["fired_by_reason"].items())) + ")"
        rate = "-" if row["success_rate"] is None else f"{row['success_rate'] * 100:.0f}%"
        table.add_row(row["profile"], str(row["dispatched"]), str(row["running"]), str(row["queued"]),
                      str(row["done"]), str(row["merged"]), str(row["failed"]), fired, rate,
                      duration(row["median_time_to_done"]), duration(row["mean_time_to_done"]),
                      f"{row['hours']:.2f}", f"{row['cost']:.2f}")
    console().print(table)
    return EXIT_OK
