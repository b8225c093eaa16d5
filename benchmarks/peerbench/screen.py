"""A stand-in for the user's terminal: a private tmux server running one full-screen app per
session, read with ``capture-pane`` and driven with ``send-keys``.

First paint = from ``new-session`` (the server is already up) until the screen shows the
agents' rows. Key latency = from ``send-keys Down`` until the highlighted row has moved. The
highlighted row is found by its style: the background (or reverse video) under the row's
label, which is the one row styled like the first row was at start (every dashboard here opens
with the cursor on the first row). This works for jarvis and mprocs alike, without knowing
their widgets. Resolution: one ``capture-pane`` round trip (a few ms) plus the poll interval.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
from dataclasses import dataclass

from .janitor import Janitor

SGR = re.compile(r"\x1b\[([0-9;:]*)([A-Za-z])")
Style = tuple[object, bool]  # (background, reverse video)


class Terminal:
    def __init__(self, janitor: Janitor, name: str, *, width: int = 200, height: int = 50) -> None:
        self.socket = janitor.socket(name)
        self.width, self.height = width, height
        self.env = janitor.env(TERM="xterm-256color")
        # A placeholder session keeps the server up, so no app is timed starting the server.
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "hold", "-x", str(width), "-y", str(height), "cat")
        self.tmux("set-option", "-g", "default-terminal", "tmux-256color", check=False)

    def tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args], env=self.env, capture_output=True, text=True, timeout=30, check=False
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:2])} failed: {proc.stderr.strip()}")
        return proc.stdout

    def server_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "=hold:", "#{pid}").strip())

    def open(self, name: str, argv: list[str], *, cwd: str, env: dict[str, str] | None = None) -> int:
        """Start ``argv`` in a new session; returns the app's pid (the pane's process)."""
        extra = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
        out = self.tmux(
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_pid}",
            "-s",
            name,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "-c",
            cwd,
            *extra,
            *argv,
        )
        return int(out.strip())

    def close(self, name: str) -> None:
        self.tmux("kill-session", "-t", f"={name}", check=False)

    def capture(self, name: str, *, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", f"={name}:", check=False)

    def key(self, name: str, key: str) -> None:
        self.tmux("send-keys", "-t", f"={name}:", key)


# ------------------------------------------------------------------ reading the screen


def styled_lines(capture: str) -> list[tuple[str, list[Style]]]:
    """Each line's text and the style of each of its characters. tmux only emits changes, so
    the style carries over from one line to the next."""
    bg: object = None
    rev = False
    out = []
    for raw in capture.split("\n"):
        text: list[str] = []
        styles: list[Style] = []
        pos = 0
        for match in SGR.finditer(raw):
            chunk = raw[pos : match.start()]
            text.append(chunk)
            styles.extend([(bg, rev)] * len(chunk))
            pos = match.end()
            if match.group(2) == "m":
                bg, rev = _apply(match.group(1), bg, rev)
        chunk = raw[pos:]
        text.append(chunk)
        styles.extend([(bg, rev)] * len(chunk))
        out.append(("".join(text), styles))
    return out


def _apply(params: str, bg: object, rev: bool) -> tuple[object, bool]:
    codes = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", params)] if params else [0]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            bg, rev = None, False
        elif code == 7:
            rev = True
        elif code == 27:
            rev = False
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = code
        elif code == 49:
            bg = None
        elif code in (38, 48, 58):
            width = 3 if i + 1 < len(codes) and codes[i + 1] == 5 else 5
            if code == 48:
                bg = tuple(codes[i : i + width])
            i += width - 1
        i += 1
    return bg, rev


class Rows:
    """Where known labels (agent ids, proc names) show on screen, and how each is styled."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        alternation = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![\w-])({alternation})(?![\w])") if labels else None

    def find(self, capture: str, *, escapes: bool) -> list[tuple[str, Style]]:
        """Visible labels in screen order (first place each shows), with their style."""
        if self.pattern is None:
            return []
        lines = styled_lines(capture) if escapes else [(line, []) for line in capture.split("\n")]
        seen: dict[str, Style] = {}
        for text, styles in lines:
            for match in self.pattern.finditer(text):
                label = match.group(1)
                if label not in seen:
                    seen[label] = styles[match.start()] if styles else (None, False)
        return list(seen.items())


def first_paint(
    term: Terminal,
    name: str,
    argv: list[str],
    labels: list[str],
    *,
    cwd: str,
    env: dict[str, str] | None = None,
    min_rows: int = 10,
    timeout: float = 60.0,
    poll: float = 0.005,
) -> tuple[float | None, int]:
    """Start the app; seconds until min(len(labels), min_rows) labels are on screen (with no
    labels: until something is drawn). Returns (seconds or None on timeout, the app's pid)."""
    rows = Rows(labels)
    want = min(len(labels), min_rows)
    start = time.monotonic()
    pid = term.open(name, argv, cwd=cwd, env=env)
    while time.monotonic() - start < timeout:
        screen = term.capture(name)
        painted = (
            len(rows.find(screen, escapes=False)) >= want
            if want
            else sum(1 for line in screen.splitlines() if line.strip()) >= 3
        )
        if painted:
            return time.monotonic() - start, pid
        time.sleep(poll)
    return None, pid


@dataclass
class Latency:
    samples_ms: list[float]
    timeouts: int
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {"samples_ms": [round(s, 1) for s in self.samples_ms], "timeouts": self.timeouts, "error": self.error}


def key_latency(
    term: Terminal,
    name: str,
    labels: list[str],
    samples: int,
    *,
    timeout: float = 5.0,
    poll: float = 0.002,
    pause: tuple[float, float] = (0.05, 0.15),
) -> Latency:
    """Move the cursor row by row (down to the last label, then back up) ``samples`` times and
    time each move until the screen shows it."""
    rows = Rows(labels)
    found = rows.find(term.capture(name, escapes=True), escapes=True)
    if len(found) < 2:
        return Latency([], 0, f"fewer than 2 rows on screen ({len(found)})")
    cursor_style = found[0][1]
    if sum(1 for _, style in found if style == cursor_style) != 1:
        return Latency([], 0, "cannot tell the cursor row from the others by its style")

    def cursor() -> str | None:
        hits = [
            lab for lab, style in rows.find(term.capture(name, escapes=True), escapes=True) if style == cursor_style
        ]
        return hits[0] if len(hits) == 1 else None

    position, step = 0, 1
    result = Latency([], 0)
    while len(result.samples_ms) + result.timeouts < samples:
        if not 0 <= position + step < len(labels):
            step = -step
        before = cursor()
        start = time.monotonic()
        term.key(name, "Down" if step > 0 else "Up")
        while True:
            now = cursor()
            elapsed = time.monotonic() - start
            if now is not None and now != before:
                result.samples_ms.append(elapsed * 1000)
                position += step
                break
            if elapsed > timeout:
                result.timeouts += 1
                break
            time.sleep(poll)
        time.sleep(random.uniform(*pause))  # do not beat in step with the app's own timers
    return result
