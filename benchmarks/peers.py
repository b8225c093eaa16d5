"""jarvis against its peers (pm2, mprocs) on the same agents: ``python benchmarks/peers.py``.

Runs N talker agents (benchmarks/talker.py, N lines/s each) under jarvis (headless engine, and
with the dashboard in a tmux pane), pm2 (daemon, and with ``pm2 monit``) and mprocs, in
interleaved rounds, and prints a markdown table: whole-stack CPU, memory (PSS), first paint,
key latency, spawn against the raw ``git worktree add`` + ``tmux new-session`` floor, and lines
lost. Each ratio compares tools measured in the same run. jarvis runs from this checkout,
byte-compiled first as an installed package is.

It installs nothing: pm2 and mprocs are used when found on PATH or in ``--peers-dir`` /
``$JARVIS_BENCH_PEERS`` (e.g. ``npm install --prefix ~/peers pm2 mprocs``, then
``--peers-dir ~/peers``), and shown as "not installed" otherwise. Everything it starts (tmux
servers on private sockets, a pm2 daemon with a private PM2_HOME, agents, temporary folders)
is stopped and removed at the end, also on failure or Ctrl-C. Exit code 1 if anything was
left behind or a scenario failed.

    python benchmarks/peers.py                      # the full run (~10-15 min on 2 cores)
    python benchmarks/peers.py --quick              # a smoke run, about a minute
    python benchmarks/peers.py --only cpu,memory --agents 50 --rounds 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peerbench.janitor import Janitor
from peerbench.report import LoadWatch, Table, machine, render
from peerbench.scenarios import CATEGORIES, Bench, Settings
from peerbench.stacks import Peer, compile_checkout, find_peer

# --quick: the same scenarios, small and short. Explicit options still win.
QUICK = dict(
    agents=3,
    idle_agents=6,
    rounds=1,
    window=3.0,
    warmup=1.0,
    samples=8,
    spawn_pairs=2,
    burst=2,
    flood_lines=20_000,
    multi_lines=1_000,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="peers.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--agents", type=int, help="agents in the fleets (default 20)")
    p.add_argument("--rate", type=float, help="lines per second each agent prints (default 10)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(CATEGORIES)}")
    p.add_argument("--quick", action="store_true", help="small N, 1 round, short windows: a smoke run")
    p.add_argument("--json", action="store_true", help="print the results as JSON (the table is in it)")
    p.add_argument("--idle-agents", type=int, help="agents in the idle-dashboard scenario (default 100)")
    p.add_argument("--fast-rate", type=int, help="lines/s for the key-latency and lines-lost load (default 2500)")
    p.add_argument("--window", type=float, help="seconds of each CPU measurement (default 10)")
    p.add_argument("--warmup", type=float, help="seconds a stack runs before it is measured (default 3)")
    p.add_argument("--samples", type=int, help="key presses per latency scenario (default 60)")
    p.add_argument("--spawn-pairs", type=int, help="jarvis/raw spawn pairs per round (default 5)")
    p.add_argument("--burst", type=int, help="spawns in a row, jarvis vs raw, per round (default 10; 0: skip)")
    p.add_argument("--flood-lines", type=int, help="lines one flooding agent prints (default 200000)")
    p.add_argument("--multi-lines", type=int, help="lines each of the N agents prints at --fast-rate (default 10000)")
    p.add_argument("--repo-files", type=int, help="files in the spawn benchmark's repository (default 4000)")
    p.add_argument(
        "--spawn-repo",
        metavar="PATH_OR_URL",
        help="a real repository for the spawn benchmark instead of a generated one (cloned to a "
        "temporary folder first, so the original gets no branch or worktree), e.g. a clone of git/git",
    )
    p.add_argument(
        "--peers-dir",
        default=os.environ.get("JARVIS_BENCH_PEERS"),
        help="where pm2 and mprocs are (a bin folder or an npm prefix; default $JARVIS_BENCH_PEERS, then PATH)",
    )
    p.add_argument("--no-peers", action="store_true", help="measure jarvis alone, even if peers are installed")
    p.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="py-spy the dashboard and engine after their CPU windows (needs py-spy); "
        "raw stacks go to DIR, top frames to the output",
    )
    p.add_argument("--run-id", help=argparse.SUPPRESS)  # tags everything started, for leak checks
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    values = dict(QUICK) if args.quick else {}
    for name in Settings.__dataclass_fields__:
        if name != "only" and getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    if args.only:
        chosen = {c.strip() for c in args.only.split(",") if c.strip()}
        unknown = chosen - set(CATEGORIES)
        if unknown:
            raise SystemExit(f"peers.py: --only: unknown {sorted(unknown)}; choose from {','.join(CATEGORIES)}")
        values["only"] = frozenset(chosen)
    settings = Settings(**values)
    if settings.agents < 2 or settings.idle_agents < 2:
        raise SystemExit("peers.py: --agents and --idle-agents must be at least 2 (the cursor needs rows to move)")
    if settings.rounds < 1 or settings.rate <= 0:
        raise SystemExit("peers.py: --rounds must be >= 1 and --rate > 0")
    return settings


def profiles(results: dict[str, dict[str, list[Any]]]) -> str:
    """py-spy's top frames per profiled process, after the table."""
    out = []
    for measure, by_tool in sorted(results.items()):
        for entry in by_tool.get("jarvis", []) if measure.startswith("profile.") else []:
            out.append(
                f"\n{measure.removeprefix('profile.')}: "
                + (entry.get("error") or f"{entry['samples']} samples, raw stacks in {entry['file']}")
            )
            for kind in ("self", "inclusive"):
                for name, pct in entry.get(kind, [])[:12]:
                    out.append(f"  {kind:9} {pct:5.1f} %  {name}")
    return "\n".join(out) + ("\n" if out else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    run_id = args.run_id or f"{os.getpid()}{uuid.uuid4().hex[:4]}"
    janitor = Janitor(run_id)
    janitor.install()
    peers = {name: find_peer(name, args.peers_dir) for name in ("pm2", "mprocs")}
    if args.no_peers:
        peers = {name: Peer(name, None) for name in peers}
    meta = machine(peers)
    meta["run_id"] = run_id
    watch = LoadWatch()
    bench = Bench(settings, janitor, peers, profile_dir=args.profile.resolve() if args.profile else None)
    compile_checkout()
    interrupted = False
    try:
        bench.run()
    except KeyboardInterrupt:
        interrupted = True
        bench.errors.append("interrupted (Ctrl-C): the table holds what was measured so far")
    finally:
        janitor.cleanup(final=True)
        meta["load_during"] = watch.stop()
    leftovers = janitor.leftovers()
    rows = Table(settings, bench.results, peers).rows()
    table = render(meta, settings, rows)
    if args.json:
        print(
            json.dumps(
                {
                    "meta": meta,
                    "settings": {**settings.__dict__, "only": sorted(settings.only)},
                    "results": bench.results,
                    "errors": bench.errors,
                    "leftovers": leftovers,
                    "rows": [row.__dict__ for row in rows],
                    "table": table,
                },
                indent=1,
                default=str,
            )
        )
    else:
        print(table)
        print(profiles(bench.results), end="")
        for error in bench.errors:
            print(f"\nerror: {error}")
        for item in leftovers:
            print(f"\nleft behind: {item}")
    if interrupted:
        return 130
    return 1 if leftovers or bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
