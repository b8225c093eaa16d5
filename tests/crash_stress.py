"""The long form of the crash test: ``python tests/crash_stress.py --ops 1000 --seed 7``.

Random jarvis operations and kill -9 faults on a real system (tests/crashlab.py), the
invariants checked after each; prints operations, invariants broken, records lost, bytes
of work lost, orphans left and the worst recovery time. Exit 1 if any invariant broke.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from crashlab import Lab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=200, help="operations to run (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--recovery", type=float, default=10.0, help="seconds allowed to recover (default 10)")
    args = parser.parse_args(argv)
    lab = Lab(args.seed, recovery_timeout=args.recovery)
    ops: Counter[str] = Counter()
    began = time.monotonic()
    try:
        for n in range(1, args.ops + 1):
            name = lab.random_operation()
            ops[name] += 1
            problems = lab.check()
            for problem in problems:
                print(f"op {n} ({name}): INVARIANT BROKEN: {problem}", flush=True)
            if n % 25 == 0:
                print(f"... {n} operations, worst recovery {lab.stats.worst_recovery:.2f}s", flush=True)
    finally:
        lab.close()
    s = lab.stats
    print(
        f"\nseed {args.seed}: {s.operations} operations ({', '.join(f'{k} {v}' for k, v in sorted(ops.items()))}) "
        f"in {time.monotonic() - began:.0f}s, {s.faults} kill -9 faults"
    )
    print(
        f"invariants broken: {len(s.broken)}\nrecords lost: {s.records_lost}\nbytes of work lost: {s.bytes_lost}\n"
        f"orphans left: {s.orphans_left}\nworst recovery time: {s.worst_recovery:.2f}s"
    )
    return 1 if s.broken else 0


if __name__ == "__main__":
    sys.exit(main())
