"""What every transcript format shares: :class:`Where` an agent's transcripts are, the
:class:`Reader` each format implements, and counting one request's tokens and price into a
file's reading state (the package reads the files and adds the counts up)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import pricing
from ..pricing import FIELDS, Counts  # per-model counts in one order for counting and pricing


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


class Reader:
    def locate(self, state: dict[str, Any], where: Where) -> list[str]:
        raise NotImplementedError

    def line(self, info: dict[str, Any], record: dict[str, Any]) -> bool:
        raise NotImplementedError

    def finish(self, info: dict[str, Any]) -> None:
        """After a batch of lines (a reader with per-file bookkeeping tidies it here)."""


def counts_of(**named: int) -> Counts:
    return [max(0, int(named.get(name, 0))) for name in FIELDS]


def add_request(info: dict[str, Any], model: str, counts: Counts, usd: float | None) -> None:
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


def price(model: str, counts: Counts) -> float | None:
    return pricing.model_cost(model, counts) if any(counts) else 0.0


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


__all__ = ["FIELDS", "Counts", "Reader", "Where", "add_request", "as_int", "counts_of", "price"]
