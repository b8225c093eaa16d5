"""What tokens cost, from a maintained price table: the ``genai-prices`` package.

genai-prices knows models by name and provider, prices cache reads and cache writes (5 minute
and 1 hour ones apart), and ships its price data inside the package: it never goes to the
network unless asked to update (jarvis never asks). It is imported on first use, not with the
CLI: only the engine tick prices anything, and only when a transcript grew.

A model it does not know is not guessed at: the caller falls back to an estimate
(``cost_weight`` x hours) and says why (:func:`estimate`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

FIELDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")  # as transcripts counts them
Counts = list[int]

log = logging.getLogger("jarvis.pricing")


@dataclass(frozen=True)
class Price:
    usd: float | None  # None: could not be priced (see note)
    source: str  # transcript or estimate
    note: str


def _usage(counts: Counts) -> Any:
    from genai_prices import Usage

    c = dict(zip(FIELDS, counts, strict=True))
    # genai-prices counts cache reads and writes inside input_tokens; ours are apart (Anthropic's way)
    return Usage(
        input_tokens=c["input"] + c["cache_read"] + c["cache_write"],
        output_tokens=c["output"],
        cache_read_tokens=c["cache_read"],
        cache_write_tokens=c["cache_write"],
        cache_write_1h_tokens=c["cache_write_1h"],
    )


@functools.lru_cache(maxsize=256)
def _known(model: str) -> tuple[str, str | None] | None:
    """(model ref, provider id) genai-prices prices ``model`` under, or None."""
    from genai_prices import Usage, calc_price

    candidates: list[tuple[str, str | None]] = [(model, None)]
    if "/" in model:  # "anthropic/claude-sonnet-4-5" (aider, opencode): provider / model
        prefix, _, name = model.partition("/")
        candidates = [(name, prefix), (name, None), (model, None)]
    for ref, provider in candidates:
        try:
            calc_price(Usage(input_tokens=1, output_tokens=1), model_ref=ref, provider_id=provider)
        except (LookupError, ValueError):
            continue
        return ref, provider
    return None


def model_cost(model: str, counts: Counts) -> float | None:
    """USD for ``counts`` of ``model``, or None if the price table does not know the model."""
    known = _known(model)
    if known is None:
        return None
    from genai_prices import calc_price

    try:
        return float(calc_price(_usage(counts), model_ref=known[0], provider_id=known[1]).total_price)
    except (LookupError, ValueError) as exc:
        log.warning("could not price %s: %s", model, exc)
        return None


def price(models: dict[str, Counts], usd: float, unpriced: list[str], tool_cost: float | None = None) -> Price:
    """The cost of a transcript: its requests, each priced as it was read (``usd``; tiers apply
    per request). ``tool_cost``: the agent priced them itself (aider). Any request of a model
    without a price makes the whole an estimate (the caller's), saying which model."""
    if tool_cost is not None:
        return Price(round(tool_cost, 6), "transcript", "priced by the agent itself")
    if not models:
        return Price(None, "estimate", "no tokens in its transcripts yet")
    if unpriced:
        return Price(None, "estimate", f"no price for model {', '.join(unpriced)}")
    return Price(round(usd, 6), "transcript", "genai-prices: " + ", ".join(sorted(models)))


def estimate(cost_weight: float, hours: float, why: str) -> Price:
    """``cost_weight`` (USD per hour) x hours, saying why there is no better number."""
    return Price(round(cost_weight * hours, 6), "estimate", f"{why}: cost_weight {cost_weight:g} x {hours:.2f} h")


__all__ = ["Price", "estimate", "model_cost", "price"]
