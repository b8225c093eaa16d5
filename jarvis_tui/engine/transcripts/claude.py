"""Claude Code's transcripts: ``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``) ``/projects/<worktree
path, every non-alphanumeric character as '-'>/<session>.jsonl``, sub-agents in
``<session>/subagents/agent-<id>.jsonl``. One API response is written as one line per content
block, each repeating ``message.usage`` with a growing ``output_tokens``: counted once per
(``message.id``, ``requestId``), keeping the largest output (anthropics/claude-code#87303)."""

from __future__ import annotations

import os
import re
from typing import Any

from .base import FIELDS, Counts, Reader, Where, add_request, as_int, counts_of, price

RECENT = 256  # message keys remembered per file for de-duplication (their lines are adjacent)


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
        counts = counts_of(
            input=as_int(usage.get("input_tokens")),
            output=as_int(usage.get("output_tokens")),
            cache_read=as_int(usage.get("cache_read_input_tokens")),
            cache_write=as_int(usage.get("cache_creation_input_tokens")),
            cache_write_1h=as_int(creation.get("ephemeral_1h_input_tokens")),
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
                old, new = price(model, before), price(model, after)
                entry[1] = after
                add_request(info, model, counts_of(output=grown), None if old is None or new is None else new - old)
                return True
        add_request(info, model, counts, price(model, counts))
        if key is not None:
            recent.append([key, counts])
            del recent[:-RECENT]
        return True


__all__ = ["ClaudeReader", "claude_project_dir"]
