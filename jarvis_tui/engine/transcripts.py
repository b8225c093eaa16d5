"""Token usage from the agents' own transcript files, read incrementally.

Each agent's reading state (per file: the byte offset read so far and what it counted) is a
JSON-able dict the caller keeps (:mod:`.usage` stores it in the registry): a read starts at
the offset, takes only whole lines, and never re-reads a file from the start. Counts are kept
per model (a Claude session and its sub-agents may use several), in one convention:
``input`` excludes cached input (Anthropic's; the others are converted).

Each request is priced as it is read (:mod:`.pricing`), not the totals at the end: prices are
tiered per request (Claude Sonnet and Gemini Pro cost more above 200k input tokens), so a
sum of many small requests priced as one would be billed at the wrong tier.

Formats (sources in the README and next to each reader):

- claude: ``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``) ``/projects/<worktree path, every
  non-alphanumeric character as '-'>/<session>.jsonl``, sub-agents in
  ``<session>/subagents/agent-<id>.jsonl``. One API response is written as one line per content
  block, each repeating ``message.usage`` with a growing ``output_tokens``: counted once per
  (``message.id``, ``requestId``), keeping the largest output (anthropics/claude-code#87303).
- codex: ``$CODEX_HOME`` (default ``~/.codex``) ``/sessions/YYYY/MM/DD/rollout-*.jsonl`` whose
  ``session_meta`` names the worktree as its cwd; ``token_count`` events carry cumulative
  ``total_token_usage`` (openai/codex#5276), the model comes from ``turn_context``.
- gemini: ``$GEMINI_CLI_HOME`` (default ``~``) ``/.gemini/tmp/<worktree name>/chats/session-*.jsonl``
  whose first line's ``projectHash`` is the SHA-256 of the worktree path; a message is appended
  again whole on every update, so the last line of each ``id`` counts (chatRecordingService.ts).
- aider: ``--analytics-log`` JSONL, ``message_send`` events with tokens and aider's own price.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pricing

log = logging.getLogger("jarvis.transcripts")

HOME_VARIABLES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME")
MAX_READ = 4 * 1024 * 1024  # bytes read from one file per pass: a huge backlog is caught up over ticks
RECENT = 256  # Claude message keys remembered per file for de-duplication (their lines are adjacent)
FIELDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")  # per-model counts
Counts = list[int]  # in FIELDS order; cache_write_1h is part of cache_write (priced differently)


@dataclass(frozen=True)
class Totals:
    """One agent's usage over all its transcripts."""

    models: dict[str, Counts]  # tokens per model
    usd: float  # what the priced requests cost
    unpriced: list[str]  # models the price table does not know (their requests have no price)
    tool_cost: float | None  # what the tool priced itself (aider), if it does


@dataclass(frozen=True)
class Where:
    """Where one agent's transcripts are: its worktree, its state folder, the tools' homes."""

    worktree: str
    session_dir: str
    agent_id: str
    started_at: float
    now: float
    homes: dict[str, str]  # CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME as the agent sees them

    def home(self, variable: str, default: str) -> Path:
        return Path(self.homes.get(variable) or os.path.expanduser(default))


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


def _counts(**named: int) -> Counts:
    return [max(0, int(named.get(name, 0))) for name in FIELDS]


def _add(info: dict[str, Any], model: str, counts: Counts, usd: float | None) -> None:
    """Count one request's tokens (or its growth) and what they cost (None: no price known)."""
    model = model or "unknown"
    into = info["models"].setdefault(model, [0] * len(FIELDS))
    for i, value in enumerate(counts):
        into[i] += value
    if usd is None:
        if model not in info.setdefault("unpriced", []):
            info["unpriced"].append(model)
    else:
        prices = info.setdefault("usd", {})
        prices[model] = prices.get(model, 0.0) + usd


def _cost(model: str, counts: Counts) -> float | None:
    return pricing.model_cost(model, counts) if any(counts) else 0.0


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


# --------------------------------------------------------------------------- readers


class Reader:
    def locate(self, state: dict[str, Any], where: Where) -> list[str]:
        raise NotImplementedError

    def line(self, info: dict[str, Any], record: dict[str, Any]) -> bool:
        raise NotImplementedError

    def finish(self, info: dict[str, Any]) -> None:
        """After a batch of lines (a reader with per-file bookkeeping tidies it here)."""


def claude_project_dir(path: str) -> str:
    """Claude Code's folder name for a project: non-alphanumerics as '-' (longer than 200
    characters: those 200, '-' and a hash, matched by prefix)."""
    return re.sub(r"[^a-zA-Z0-9]", "-", path)


class ClaudeReader(Reader):
    def locate(self, state: dict[str, Any], where: Where) -> list[str]:
        projects = where.home("CLAUDE_CONFIG_DIR", "~/.claude") / "projects"
        found: list[str] = []
        for name in dict.fromkeys(
            (claude_project_dir(where.worktree), claude_project_dir(os.path.realpath(where.worktree)))
        ):
            folders = [projects / name] if len(name) <= 200 else list(projects.glob(f"{name[:200]}-*"))
            for folder in folders:
                if folder.is_dir():
                    found += sorted(str(p) for p in folder.glob("*.jsonl"))
                    found += sorted(str(p) for p in folder.glob("*/subagents/agent-*.jsonl"))
        return found

    def line(self, info: dict[str, Any], record: dict[str, Any]) -> bool:
        if record.get("type") != "assistant":
            return False
        message = record.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            return False
        model = str(message.get("model") or "unknown")
        if model == "<synthetic>":  # written by Claude Code itself, not an API call
            return False
        usage = message["usage"]
        creation = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
        counts = _counts(
            input=_int(usage.get("input_tokens")),
            output=_int(usage.get("output_tokens")),
            cache_read=_int(usage.get("cache_read_input_tokens")),
            cache_write=_int(usage.get("cache_creation_input_tokens")),
            cache_write_1h=_int(creation.get("ephemeral_1h_input_tokens")),
        )
        recent: list[list[Any]] = info.setdefault("recent", [])
        key = f"{message.get('id')}:{record.get('requestId', '')}" if message.get("id") else None
        out = FIELDS.index("output")
        for entry in recent:
            if key is not None and entry[0] == key:
                before: Counts = entry[1]
                grown = counts[out] - before[out]
                if grown <= 0:
                    return False
                # the same response, its output grown: only the growth is new (priced as the difference)
                after = [*before[:out], counts[out], *before[out + 1 :]]
                old, new = _cost(model, before), _cost(model, after)
                entry[1] = after
                _add(info, model, _counts(output=grown), None if old is None or new is None else new - old)
                return True
        _add(info, model, counts, _cost(model, counts))
        if key is not None:
            recent.append([key, counts])
            del recent[:-RECENT]
        return True


class CodexReader(Reader):
    def locate(self, state: dict[str, Any], where: Where) -> list[str]:
        sessions = where.home("CODEX_HOME", "~/.codex") / "sessions"
        mine = [p for p in state["files"]]
        foreign: list[str] = state.setdefault("foreign", [])
        for folder in _day_folders(sessions, where.started_at - 86_400, where.now + 86_400):
            for path in sorted(str(p) for p in folder.glob("rollout-*.jsonl")):
                if path in state["files"] or path in foreign:
                    continue
                try:
                    if os.stat(path).st_mtime < where.started_at - 60:
                        continue  # a session that ended before this agent began
                    with open(path, "rb") as fh:
                        first = json.loads(fh.readline() or b"{}")
                except (OSError, ValueError):
                    continue
                cwd = (first.get("payload") or {}).get("cwd") if first.get("type") == "session_meta" else None
                if cwd is None:
                    continue  # not written far enough yet: look again next pass
                if cwd in (where.worktree, os.path.realpath(where.worktree)):
                    mine.append(path)
                else:
                    foreign.append(path)
        return mine

    def line(self, info: dict[str, Any], record: dict[str, Any]) -> bool:
        payload = record.get("payload")
        if not isinstance(payload, dict):
            return False
        if record.get("type") == "turn_context" and payload.get("model"):
            info["model"] = str(payload["model"])
            return False
        if record.get("type") != "event_msg" or payload.get("type") != "token_count":
            return False
        total = (payload.get("info") or {}).get("total_token_usage")
        if not isinstance(total, dict):
            return False
        now = [
            _int(total.get("input_tokens")),
            _int(total.get("cached_input_tokens")),
            _int(total.get("output_tokens")),
            _int(total.get("cache_write_input_tokens")),
        ]
        last = info.get("last", [0, 0, 0, 0])
        delta = [a - b for a, b in zip(now, last, strict=True)]
        if any(d < 0 for d in delta):  # the cumulative count started over: all of it is new
            delta = now
        info["last"] = now
        if not any(delta):
            return False
        # OpenAI's input includes cached input (and cache writes); output includes reasoning.
        counts = _counts(
            input=delta[0] - delta[1] - delta[3], cache_read=delta[1], cache_write=delta[3], output=delta[2]
        )
        model = str(info.get("model", "unknown"))
        _add(info, model, counts, _cost(model, counts))  # a token_count follows each request
        return True


def _day_folders(sessions: Path, start: float, end: float) -> Iterator[Path]:
    """``sessions/YYYY/MM/DD`` folders of the days from ``start`` to ``end`` (local and UTC)."""
    seen: set[Path] = set()
    day = start
    while day <= end + 86_400:
        for moment in (dt.datetime.fromtimestamp(day), dt.datetime.fromtimestamp(day, dt.UTC)):
            folder = sessions / f"{moment:%Y}" / f"{moment:%m}" / f"{moment:%d}"
            if folder not in seen and folder.is_dir():
                seen.add(folder)
                yield folder
        day += 86_400


class GeminiReader(Reader):
    def locate(self, state: dict[str, Any], where: Where) -> list[str]:
        tmp = where.home("GEMINI_CLI_HOME", "~") / ".gemini" / "tmp"
        wanted = {hashlib.sha256(p.encode()).hexdigest() for p in (where.worktree, os.path.realpath(where.worktree))}
        found: list[str] = []
        name = Path(where.worktree).name.lower()
        foreign: list[str] = state.setdefault("foreign", [])
        for folder in [tmp / name, *tmp.glob(f"{name}-*")]:
            for path in sorted(str(p) for p in (folder / "chats").glob("session-*.jsonl")):
                if path in state["files"]:
                    found.append(path)
                    continue
                if path in foreign:
                    continue
                try:
                    with open(path, "rb") as fh:
                        first = json.loads(fh.readline() or b"{}")
                except (OSError, ValueError):
                    continue
                if first.get("projectHash") in wanted:
                    found.append(path)
                elif first.get("projectHash"):
                    foreign.append(path)
        return found

    def line(self, info: dict[str, Any], record: dict[str, Any]) -> bool:
        tokens = record.get("tokens")
        if record.get("type") != "gemini" or not isinstance(tokens, dict) or not record.get("id"):
            return False
        cached = _int(tokens.get("cached"))
        # input includes cached; thoughts are billed as output
        counts = _counts(
            input=_int(tokens.get("input")) - cached,
            output=_int(tokens.get("output")) + _int(tokens.get("thoughts")),
            cache_read=cached,
        )
        messages: dict[str, Any] = info.setdefault("messages", {})
        model = str(record.get("model") or "unknown")
        old = messages.get(str(record["id"]))
        if old is not None and old[:2] == [model, counts]:
            return False
        messages[str(record["id"])] = [model, counts, _cost(model, counts)]  # its last version counts
        return True

    def finish(self, info: dict[str, Any]) -> None:
        info["models"], info["usd"], info["unpriced"] = {}, {}, []
        for model, counts, usd in info.get("messages", {}).values():
            _add(info, model, counts, usd)


class AiderReader(Reader):
    def locate(self, state: dict[str, Any], where: Where) -> list[str]:
        path = os.path.join(where.session_dir, "aider-analytics.jsonl")
        return [path] if os.path.exists(path) else []

    def line(self, info: dict[str, Any], record: dict[str, Any]) -> bool:
        props = record.get("properties")
        if record.get("event") != "message_send" or not isinstance(props, dict):
            return False
        cost = props.get("cost")
        usd = float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else 0.0
        _add(
            info,
            str(props.get("main_model") or "unknown"),
            _counts(input=_int(props.get("prompt_tokens")), output=_int(props.get("completion_tokens"))),
            usd,
        )
        info["cost"] = info.get("cost", 0.0) + usd  # aider prices its own calls (litellm's table)
        return True


READERS: dict[str, Reader] = {
    "claude": ClaudeReader(),
    "codex": CodexReader(),
    "gemini": GeminiReader(),
    "aider": AiderReader(),
}


__all__ = [
    "FIELDS",
    "HOME_VARIABLES",
    "MAX_READ",
    "READERS",
    "Totals",
    "Where",
    "claude_project_dir",
    "new_state",
    "read_lines",
    "totals",
    "update",
]
