"""Token usage from the agents' own transcript files, read incrementally.

Each agent's reading state (per file: the byte offset read so far and what it counted) is a
JSON-able dict the caller keeps (:mod:`..usage` stores it in the registry): a read starts at
the offset, takes only whole lines, and never re-reads a file from the start. Counts are kept
per model (a Claude session and its sub-agents may use several), in one convention:
``input`` excludes cached input (Anthropic's; the others are converted).

Each request is priced as it is read (:mod:`..pricing`), not the totals at the end: prices are
tiered per request (Claude Sonnet and Gemini Pro cost more above 200k input tokens), so a
sum of many small requests priced as one would be billed at the wrong tier.

Formats, one module each (sources in the README and in each module's docstring):

    claude.py   Claude Code's session JSONL (and its sub-agents'), per project folder
    codex.py    Codex's rollout JSONL, found by the worktree named in its session_meta
    gemini.py   Gemini CLI's chat JSONL, found by the worktree path's hash
    aider.py    aider's --analytics-log JSONL (aider prices its own calls)
    base.py     what they share: Where, the Reader interface, counting one request
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from .aider import AiderReader
from .base import FIELDS, Counts, Reader, Where
from .claude import ClaudeReader
from .codex import CodexReader
from .gemini import GeminiReader

log = logging.getLogger("jarvis.transcripts")

MAX_READ = 4 * 1024 * 1024  # bytes read from one file per pass: a huge backlog is caught up over ticks


@dataclass(frozen=True)
class Totals:
    """One agent's usage over all its transcripts."""

    models: dict[str, Counts]  # tokens per model
    usd: float  # what the priced requests cost
    unpriced: list[str]  # models the price table does not know (their requests have no price)
    tool_cost: float | None  # what the tool priced itself (aider), if it does


def new_state(fmt: str) -> dict[str, Any]:
    return {"format": fmt, "files": {}, "foreign": []}


def totals(state: dict[str, Any]) -> Totals:
    """Counts per model over every file, their price, and the cost the tool priced itself."""
    models: dict[str, Counts] = {}
    usd = 0.0
    unpriced: set[str] = set()
    tool_cost: float | None = None
    for info in state["files"].values():
        for model, counts in info.get("models", {}).items():
            into = models.setdefault(model, [0] * len(FIELDS))
            for i, value in enumerate(counts):
                into[i] += value
        usd += sum(info.get("usd", {}).values())
        unpriced.update(info.get("unpriced", []))
        if "cost" in info:
            tool_cost = (tool_cost or 0.0) + info["cost"]
    return Totals(models, usd, sorted(unpriced), tool_cost)


def update(state: dict[str, Any], where: Where) -> bool:
    """Read what was appended since the last call; returns whether anything new was counted."""
    reader = READERS.get(state["format"])
    if reader is None:
        return False
    changed = False
    for path in reader.locate(state, where):
        info = state["files"].setdefault(path, {"offset": 0, "models": {}})
        try:
            lines, offset = read_lines(path, info["offset"])
        except OSError as exc:  # vanished or unreadable: try again next pass
            log.debug("%s: cannot read %s: %s", where.agent_id, path, exc)
            continue
        if offset == info["offset"]:
            continue
        info["offset"] = offset
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line written half-way by a crash; the next whole line counts
            if isinstance(record, dict) and reader.line(info, record):
                changed = True
        reader.finish(info)
    return changed


def read_lines(path: str, offset: int) -> tuple[list[bytes], int]:
    """Whole lines from ``offset`` on (at most MAX_READ bytes), and the offset after them."""
    size = os.stat(path).st_size
    if size < offset:  # replaced by a shorter file: start over (transcripts only grow)
        offset = 0
    if size == offset:
        return [], offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(min(size - offset, MAX_READ))
    end = data.rfind(b"\n")
    if end < 0:
        # a partial line; if it fills a whole chunk it is no transcript line we can use: skip it
        return [], offset + len(data) if len(data) >= MAX_READ else offset
    return [line for line in data[:end].split(b"\n") if line.strip()], offset + end + 1


READERS: dict[str, Reader] = {
    "claude": ClaudeReader(),
    "codex": CodexReader(),
    "gemini": GeminiReader(),
    "aider": AiderReader(),
}


__all__ = [
    "FIELDS",
    "MAX_READ",
    "READERS",
    "Totals",
    "Where",
    "new_state",
    "read_lines",
    "totals",
    "update",
]
