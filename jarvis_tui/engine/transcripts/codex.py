"""Codex's transcripts: ``$CODEX_HOME`` (default ``~/.codex``) ``/sessions/YYYY/MM/DD/rollout-*.jsonl``
whose ``session_meta`` names the worktree as its cwd; ``token_count`` events carry cumulative
``total_token_usage`` (openai/codex#5276), the model comes from ``turn_context``."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Reader, Where, add_request, as_int, counts_of, price


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
            as_int(total.get("input_tokens")),
            as_int(total.get("cached_input_tokens")),
            as_int(total.get("output_tokens")),
            as_int(total.get("cache_write_input_tokens")),
        ]
        last = info.get("last", [0, 0, 0, 0])
        delta = [a - b for a, b in zip(now, last, strict=True)]
        if any(d < 0 for d in delta):  # the cumulative count started over: all of it is new
            delta = now
        info["last"] = now
        if not any(delta):
            return False
        # OpenAI's input includes cached input (and cache writes); output includes reasoning.
        counts = counts_of(
            input=delta[0] - delta[1] - delta[3], cache_read=delta[1], cache_write=delta[3], output=delta[2]
        )
        model = str(info.get("model", "unknown"))
        add_request(info, model, counts, price(model, counts))  # a token_count follows each request
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


__all__ = ["CodexReader"]
