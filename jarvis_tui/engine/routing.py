"""``spawn --agent auto``: the profile that best fits a task's kind, learnt from outcomes.

Pure: the history, the candidates and the random generator are arguments. The rule, per
candidate profile ``p`` and the task's kind ``k`` (documented in the README):

- quality: ``theta ~ Beta(1 + s + s'/4, 1 + f + f'/4)`` (Thompson sampling), where ``s``/``f``
  are p's successes (done or merged) and failures (failed, or fired for any reason but system
  ``pressure``) on kind k, and ``s'``/``f'`` those on other kinds (a weak prior: general
  competence carries over a little). A profile never tried draws from a flat prior, so it
  gets tried now and then: that is the exploration.
- cost: what p spent on kind k per success (every attempt's cost, failures included, over
  the successes); without history ``cost_weight`` x the typical time.
- speed: p's median time to done on kind k (else on any kind, else everyone's).

``score = wq * ln(theta) - wc * ln(cost / cheapest) - ws * ln(time / fastest)`` with weights
from ``[routing] prefer``: quality (3, 1, 1), cost (1, 3, 1), speed (1, 1, 3), balanced (1, 1, 1).
The highest score wins among available profiles (program installed, daily budget not spent),
preferring those below their ``max_concurrent``.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

WEIGHTS = {"quality": (3.0, 1.0, 1.0), "cost": (1.0, 3.0, 1.0), "speed": (1.0, 1.0, 3.0), "balanced": (1.0, 1.0, 1.0)}
PRIOR_SHARE = 0.25  # how much a profile's record on other kinds counts for this kind
DEFAULT_SECONDS = 1800.0  # typical time to done when nobody has history yet
NO_KIND = "(none)"


@dataclass(frozen=True)
class Outcome:
    """One ended attempt, as routing and ``stats --by kind`` learn from it."""

    profile: str
    kind: str
    success: bool
    seconds: float | None  # start to done (successes only)
    cost: float | None  # USD (priced or estimated)
    started_at: float | None = None
    ended_at: float | None = None


@dataclass(frozen=True)
class Candidate:
    name: str
    cost_weight: float
    unavailable: str | None = None  # why it cannot be picked (not installed, daily budget spent)
    at_limit: bool = False  # running max_concurrent already: picked only if every other is too


@dataclass
class Score:
    profile: str
    successes: int = 0
    failures: int = 0
    theta: float = 0.0  # the sampled success rate
    mean: float = 0.5  # the posterior mean (what the sample is drawn around)
    cost: float = 0.0  # USD per success
    seconds: float = 0.0
    score: float = float("-inf")
    cost_known: bool = False
    unavailable: str | None = None
    at_limit: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "successes": self.successes,
            "failures": self.failures,
            "theta": round(self.theta, 4),
            "mean": round(self.mean, 4),
            "cost_per_success": round(self.cost, 4),
            "cost_known": self.cost_known,
            "seconds": round(self.seconds, 1),
            "score": None if math.isinf(self.score) else round(self.score, 4),
            "unavailable": self.unavailable,
            "at_limit": self.at_limit,
        }


def _kind(kind: str | None) -> str:
    return kind or NO_KIND


def rank(
    history: Sequence[Outcome], candidates: Sequence[Candidate], kind: str | None, prefer: str, rng: random.Random
) -> list[Score]:
    """Every candidate scored, best first (the unavailable ones last, unscored)."""
    kind = _kind(kind)
    wq, wc, ws = WEIGHTS[prefer]
    everyone = [o.seconds for o in history if o.success and o.seconds]
    typical = statistics.median(everyone) if everyone else DEFAULT_SECONDS
    scores: list[Score] = []
    for cand in candidates:
        mine = [o for o in history if o.profile == cand.name]
        here = [o for o in mine if _kind(o.kind) == kind]
        other = [o for o in mine if _kind(o.kind) != kind]
        s, f = sum(o.success for o in here), sum(not o.success for o in here)
        s2, f2 = sum(o.success for o in other), sum(not o.success for o in other)
        alpha, beta = 1 + s + PRIOR_SHARE * s2, 1 + f + PRIOR_SHARE * f2
        sc = Score(
            cand.name,
            successes=s,
            failures=f,
            mean=alpha / (alpha + beta),
            unavailable=cand.unavailable,
            at_limit=cand.at_limit,
        )
        sc.theta = rng.betavariate(alpha, beta)  # drawn for every candidate, so the stream is stable
        times = [o.seconds for o in here if o.success and o.seconds] or [
            o.seconds for o in mine if o.success and o.seconds
        ]
        sc.seconds = statistics.median(times) if times else typical
        spent = [o.cost for o in (here if s else mine) if o.cost is not None]
        wins = s if s else s + s2
        if wins and spent:
            sc.cost, sc.cost_known = sum(spent) / wins, True
        else:
            sc.cost = cand.cost_weight * sc.seconds / 3600.0
            sc.notes.append("cost estimated from cost_weight")
        scores.append(sc)
    pool = [sc for sc in scores if sc.unavailable is None]
    cheapest = min((sc.cost for sc in pool if sc.cost > 0), default=1.0)
    fastest = min((sc.seconds for sc in pool if sc.seconds > 0), default=1.0)
    for sc in pool:
        sc.score = (
            wq * math.log(max(sc.theta, 1e-9))
            - wc * math.log(max(sc.cost, 1e-9) / cheapest)
            - ws * math.log(max(sc.seconds, 1e-9) / fastest)
        )
    return sorted(scores, key=lambda sc: (sc.unavailable is not None, sc.at_limit and _free(pool), -sc.score))


def _free(pool: list[Score]) -> bool:
    return any(not sc.at_limit for sc in pool)


def choose(ranking: Sequence[Score]) -> Score | None:
    """The winner: the first available one (below its limit when any is)."""
    return next((sc for sc in ranking if sc.unavailable is None), None)


__all__ = ["NO_KIND", "WEIGHTS", "Candidate", "Outcome", "Score", "choose", "rank"]
