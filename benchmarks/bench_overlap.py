"""Overlap scan benchmark on real git: `python benchmarks/bench_overlap.py [AGENTS] [FILES]`.

Builds a repository of FILES files (default 4,000), gives AGENTS agents (default 50) a
worktree each with a few edits (one commit, two modified files, one untracked file; some
files edited by several agents), then times one full overlap scan: ``touched_paths`` of every
agent plus ``overlaps``. Prints the time per scan, the git processes per agent and what each
kind of process costs (wall time and CPU of the git children). Asserts nothing: speed is
measured here, not in timed tests. Everything lives in a temporary folder, removed at the end.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jarvis_tui.engine import git
from jarvis_tui.engine.git.overlap import overlaps, touched_paths, would_conflict
from jarvis_tui.engine.git.review import snapshot_worktree

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@b",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@b",
}


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=ENV
    ).stdout.strip()


def build(root: Path, agents: int, files: int) -> tuple[Path, list[Path]]:
    repo = root / "repo"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "main")
    for i in range(files):
        path = repo / f"pkg{i // 100:03d}" / f"module{i % 100:03d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"# module {i}\n" + "x = 1\n" * 20)
    (repo / ".gitignore").write_text("*.log\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", "a big project")
    worktrees = []
    for a in range(agents):
        wt = root / "wt" / f"agent{a:02d}"
        sh(repo, "worktree", "add", "-q", "-b", f"agent/{a:02d}", str(wt), "main")
        own = wt / f"pkg{a % (files // 100):03d}" / f"module{a % 100:03d}.py"
        own.write_text(own.read_text() + f"# agent {a} committed this\n")
        sh(wt, "commit", "-q", "-am", f"agent {a} work")
        shared = wt / "pkg000" / f"module{a % 10:03d}.py"  # every 10th agent shares a file
        shared.write_text(shared.read_text() + f"# agent {a} edits a shared file\n")
        mine = wt / f"pkg{(a + 7) % (files // 100):03d}" / "module050.py"
        mine.write_text(mine.read_text() + "# uncommitted\n")
        (wt / f"notes-{a}.md").write_text("untracked\n")
        (wt / "debug.log").write_text("ignored\n")
        worktrees.append(wt)
    # Steady state: an agent's own git commands keep its index fresh. Right after setup every
    # entry is "racily clean" (written in the same second as the index), which would make each
    # status re-read all 4,000 files; one refresh a second later settles that, as time does.
    time.sleep(1.1)
    for wt in worktrees:
        subprocess.run(["git", "-C", str(wt), "update-index", "-q", "--refresh"], check=False, env=ENV)
    return repo, worktrees


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Counting:
    """Counts the git processes the engine starts, by subcommand, with wall time."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wall: dict[str, list[float]] = {}
        self.real = git.probe

    def __call__(self, cwd, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return self.real(cwd, *args, **kwargs)
        finally:
            self.calls[args[0]] += 1
            self.wall.setdefault(args[0], []).append((time.perf_counter() - start) * 1000)


def main() -> None:
    agents = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    with tempfile.TemporaryDirectory(prefix="jarvis-bench-overlap-") as tmp:
        start = time.perf_counter()
        repo, worktrees = build(Path(tmp), agents, files)
        print(f"setup: {files} files, {agents} worktrees in {time.perf_counter() - start:.1f}s")
        base = sh(repo, "rev-parse", "main")
        counting = Counting()
        git.probe = counting  # type: ignore[assignment]
        try:
            scans, cpu = [], []
            result = []
            for _ in range(5):
                counting.calls.clear()
                cpu0, t0 = children_cpu(), time.perf_counter()
                touched = {wt.name: touched_paths(repo, wt, base) for wt in worktrees}
                result = overlaps(touched)
                scans.append((time.perf_counter() - t0) * 1000)
                cpu.append((children_cpu() - cpu0) * 1000)
            per_agent = {k: v / agents for k, v in counting.calls.items()}
            print(
                f"full scan (touched_paths x{agents} + overlaps): median {statistics.median(scans):.0f} ms wall, "
                f"{statistics.median(cpu):.0f} ms git CPU; {len(result)} overlapping pairs"
            )
            print(
                f"git processes per agent: {sum(per_agent.values()):.0f} "
                f"({', '.join(f'{k} {v:.0f}' for k, v in sorted(per_agent.items()))})"
            )
            for kind, samples in sorted(counting.wall.items()):
                print(f"  git {kind}: median {statistics.median(samples):.1f} ms wall per process")
            counting.calls.clear()
            cpu0, t0 = children_cpu(), time.perf_counter()
            ended = {f"agent/{i:02d}": touched_paths(repo, None, base, f"agent/{i:02d}") for i in range(agents)}
            print(
                f"ended agents (branch only) x{agents}: {(time.perf_counter() - t0) * 1000:.0f} ms wall, "
                f"{(children_cpu() - cpu0) * 1000:.0f} ms git CPU, {sum(counting.calls.values()) / agents:.0f} "
                f"process per agent; {len(overlaps(ended))} pairs (committed work only)"
            )
            if result:  # the real check for a pair that shares paths: merge their snapshots
                pair = result[0]
                t0 = time.perf_counter()
                snaps = {name: snapshot_worktree(Path(tmp) / "wt" / name).commit for name in (pair.a, pair.b)}
                print(f"snapshot_worktree (review of an active agent): {(time.perf_counter() - t0) * 500:.0f} ms each")
                t0 = time.perf_counter()
                conflicts = would_conflict(repo, snaps[pair.a], snaps[pair.b])
                print(f"would_conflict({pair.a}, {pair.b}): {conflicts} in {(time.perf_counter() - t0) * 1000:.0f} ms")
        finally:
            git.probe = counting.real  # type: ignore[assignment]


if __name__ == "__main__":
    main()
