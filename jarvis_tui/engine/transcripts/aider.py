"""Aider's usage: its ``--analytics-log`` JSONL (``aider-analytics.jsonl`` in the agent's state
folder), ``message_send`` events with tokens and aider's own price."""

from __future__ import annotations

import os
from typing import Any

from .base import Reader, Where, add_request, as_int, counts_of


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
        add_request(
            info,
            str(props.get("main_model") or "unknown"),
            counts_of(input=as_int(props.get("prompt_tokens")), output=as_int(props.get("completion_tokens"))),
            usd,
        )
        info["cost"] = info.get("cost", 0.0) + usd  # aider prices its own calls (litellm's table)
        return True


__all__ = ["AiderReader"]
