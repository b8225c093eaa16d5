"""Where a jarvis process spends its time: py-spy, when it is installed (``pip install py-spy``).

Optional (``--profile DIR``): after a stack's CPU window, py-spy samples the dashboard (or the
headless engine) for the same length, writes the raw collapsed stacks to DIR, and the report
lists the functions with most samples, on the stack (inclusive) and at its top (self).
Never part of a timed window: sampling costs CPU of its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

# py-spy's raw format: "frame;frame;...;frame COUNT", each frame "func (file.py:line)".
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


# Inclusive counts only for the code worth optimising; entry points and thread plumbing would
# top that list with 100 % and say nothing.
INTERESTING = ("jarvis_tui/", "textual/", "rich/")
PLUMBING = ("jarvis_tui/__main__.py", "jarvis_tui/cli.py", "textual/worker.py", "textual/app.py")


def available() -> str | None:
    return shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, *, subprocesses: bool = False) -> dict[str, Any]:
    """Sample ``pid`` for ``seconds``; returns the top frames (or why there are none)."""
    pyspy = available()
    if pyspy is None:
        return {"error": "py-spy not installed (pip install py-spy)"}
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "100",
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
    ]
    if subprocesses:
        argv.append("--subprocesses")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if proc.returncode != 0 or not out.exists():
        return {"error": (proc.stderr.strip() or f"py-spy exited {proc.returncode}")[-300:]}
    return {"file": str(out), **summarise(out.read_text(errors="replace"))}


def summarise(raw: str, top: int = 15) -> dict[str, Any]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        n = int(count)
        total += n
        frames = [short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            path = frame.rpartition(" (")[2].rstrip(")")
            if path.startswith(INTERESTING) and not path.startswith(PLUMBING):
                inclusive[frame] += n

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)] if total else []

    return {"samples": total, "self": pct(own), "inclusive": pct(inclusive)}


def short(frame: str) -> str:
    """'render_update (textual/_compositor.py:123)' -> 'render_update (textual/_compositor.py)'."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "jarvis_tui/", "lib/python"):
        if marker in path:
            path = (marker if marker == "jarvis_tui/" else "") + path.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({path})"
