"""Gemini CLI's transcripts: ``$GEMINI_CLI_HOME`` (default ``~``)
``/.gemini/tmp/<worktree name>/chats/session-*.jsonl`` whose first line's ``projectHash`` is the
SHA-256 of the worktree path; a message is appended again whole on every update, so the last
line of each ``id`` counts (chatRecordingService.ts)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .base import Reader, Where, add_request, as_int, counts_of, price


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
        cached = as_int(tokens.get("cached"))
        # input includes cached; thoughts are billed as output
        counts = counts_of(
            input=as_int(tokens.get("input")) - cached,
            output=as_int(tokens.get("output")) + as_int(tokens.get("thoughts")),
            cache_read=cached,
        )
        messages: dict[str, Any] = info.setdefault("messages", {})
        model = str(record.get("model") or "unknown")
        old = messages.get(str(record["id"]))
        if old is not None and old[:2] == [model, counts]:
            return False
        messages[str(record["id"])] = [model, counts, price(model, counts)]  # its last version counts
        return True

    def finish(self, info: dict[str, Any]) -> None:
        info["models"], info["usd"], info["unpriced"] = {}, {}, []
        for model, counts, usd in info.get("messages", {}).values():
            add_request(info, model, counts, usd)


__all__ = ["GeminiReader"]
