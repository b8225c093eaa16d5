"""Engine benchmarks on real tmux, git and psutil: `python benchmarks/bench_engine.py [N]`.

Measures what a dashboard tick costs with N agents (default 50): the batched tmux poll, the
/proc pass over every agent's process tree, a whole reconcile, a whole engine tick, and log
normalisation throughput. Prints a table; asserts nothing (speed is measured here, not in timed tests).
Everything runs on a private tmux socket in a temporary folder and is cleaned up.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jarvis_tui.engine.config import load_config
from jarvis_tui.engine.logs import LogTail
from jarvis_tui.engine.loop import EngineLoop
from jarvis_tui.engine.resources import ResourceSampler
from jarvis_tui.engine.supervisor import Supervisor

CONFIG = """
[supervisor]
repo = "repo"
state_dir = "state"
tmux_socket = "jarvis-bench-{pid}"
max_agents = {n}
kill_grace = 1
[resources]
cpu_safe = 1000
cpu_danger = 1000
ram_safe = 1000
ram_danger = 1000
[agents.sleeper]
command = ["python", "-c", "import time; print('[y/N]?', flush=True); time.sleep(600)"]
waiting_patterns = ["never-matches-anything"]
"""


def timeit(fn, repeat: int = 20) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    with tempfile.TemporaryDirectory(prefix="jarvis-bench-") as tmp:
        root = Path(tmp)
        (root / "repo").mkdir()
        subprocess.run(["git", "init", "-q", str(root / "repo")], check=True)
        (root / "repo" / "f.txt").write_text("x\n")
        subprocess.run(["git", "-C", str(root / "repo"), "add", "."], check=True)
        subprocess.run(["git", "-C", str(root / "repo"), "commit", "-qm", "i"], check=True, env=env)
        (root / "config.toml").write_text(CONFIG.format(pid=os.getpid(), n=n))
        sup = Supervisor(load_config(root / "config.toml"))
        rows = []
        try:
            start = time.perf_counter()
            agents = [sup.spawn(f"agent {i}", agent="sleeper") for i in range(n)]
            rows.append((f"spawn {n} agents (worktree + session each)", (time.perf_counter() - start) * 1000, None))
            time.sleep(1.0)
            rows.append(("tmux list-panes -a (one call, all panes)", *timeit(sup.tmux.list_panes)))
            panes = [a.pane_id for a in agents]
            rows.append((f"tmux capture of {n} screens (one call)", *timeit(lambda: sup.tmux.capture_many(panes))))
            sampler = ResourceSampler()
            roots = {a.id: a.pid for a in agents}
            rows.append(
                (f"/proc pass: system + {n} process trees", *timeit(lambda: (sampler.system(), sampler.trees(roots))))
            )
            rows.append((f"reconcile {n} agents", *timeit(sup.reconcile)))
            loop = EngineLoop(sup)
            loop.tick()  # takes the lease
            rows.append((f"engine tick, {n} agents (lease holder: + policies, dispatch)", *timeit(loop.tick)))
            loop.close()
            log = root / "big.log"
            line = "\x1b[32m✓\x1b[0m step 17: edited src/module.py \r\x1b[Kdone with \x1b[1mthat\x1b[0m\r\n"
            log.write_text(line * 100_000)
            tail = LogTail(log)
            start = time.perf_counter()
            count = 0
            while batch := tail.read():
                count += len(batch)
            secs = time.perf_counter() - start
            rows.append((f"log normalisation ({count} escape-heavy lines)", secs * 1000, None))
            rows.append((f"  = {count / secs:,.0f} lines/s", 0, None))
        finally:
            sup.tmux.kill_server()
        width = max(len(r[0]) for r in rows)
        print(f"{'benchmark':<{width}}  median ms   max ms")
        for name, med, worst in rows:
            if med == 0 and worst is None:
                print(name)
                continue
            print(f"{name:<{width}}  {med:9.1f}  {'' if worst is None else f'{worst:7.1f}'}")


if __name__ == "__main__":
    main()
