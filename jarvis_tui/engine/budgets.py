"""Budget rules as pure decisions over costs (USD) already read (no clock of their own; the one
read is :func:`spent_today`, the day's spending that :mod:`.usage` records):

- per attempt: the task's ``spawn --budget`` and the profile's ``max_cost`` (the smaller one
  holds). Reached -> the agent is fired with reason ``budget`` (its work preserved, like any
  fire); at ``[budgets] warn_at`` of it -> one warning.
- per day: ``[budgets] daily`` (all profiles) and a profile's ``daily_budget``. Spent -> no new
  agent starts (its queue reason says ``daily budget $20.00 spent``) until the local day rolls
  over or the budget is raised; running agents go on. At ``warn_at`` -> one warning a day.

:mod:`.overseer` feeds these rules each tick and acts; :mod:`.admission` asks :func:`daily_block`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import Config, Profile
from .models import Agent
from .policies import Verdict

if TYPE_CHECKING:
    from .registry import Registry

ALL = "all profiles"  # the scope of [budgets] daily


def day_of(now: float) -> str:
    """The local calendar day a moment belongs to (budgets roll over at local midnight)."""
    return dt.date.fromtimestamp(now).isoformat()


def spent_today(registry: Registry, now: float) -> dict[str, float]:
    """USD spent today, per profile (admission, routing and the overseer ask; usage writes it)."""
    rows = registry.conn.execute("SELECT profile, usd FROM spend WHERE day = ?", (day_of(now),)).fetchall()
    return {row["profile"]: float(row["usd"]) for row in rows}


def usd(value: float) -> str:
    """``$12.50``; below a dime, the digits that matter (``$0.001``, not ``$0.00``)."""
    if value == 0 or abs(value) >= 0.1:
        return f"${value:,.2f}"
    if abs(value) < 0.0001:
        return "<$0.0001" if value > 0 else "-<$0.0001"
    digits = f"{value:.4f}".rstrip("0")
    return "$" + (digits if len(digits.split(".")[1]) >= 2 else f"{value:.2f}")


def attempt_limit(agent: Agent, profile: Profile | None) -> tuple[float, str] | None:
    """The budget of one attempt and where it comes from, or None (no budget)."""
    limits = []
    if agent.budget_usd:
        limits.append((agent.budget_usd, "spawn --budget"))
    if profile is not None and profile.max_cost > 0:
        limits.append((profile.max_cost, f"profile {profile.name} max_cost"))
    return min(limits) if limits else None


def marks(agent: Agent, profile: Profile | None, warn_at: float) -> tuple[float, ...]:
    """The costs at which :func:`check_agent` acts on this agent (its warning, its budget): a
    cost estimate is written as soon as it crosses one, whatever the step it is written by."""
    limit = attempt_limit(agent, profile)
    if limit is None:
        return ()
    return (warn_at * limit[0], limit[0]) if warn_at > 0 else (limit[0],)


def check_agent(agent: Agent, profile: Profile | None, warn_at: float) -> Verdict | None:
    """A running agent over its budget -> fire (``budget``); past ``warn_at`` of it -> warn once."""
    limit = attempt_limit(agent, profile)
    if limit is None or agent.cost_usd is None:
        return None
    budget, source = limit
    data = {
        "rule": "budget",
        "cost_usd": round(agent.cost_usd, 6),
        "budget_usd": budget,
        "budget_from": source,
        "cost_source": agent.cost_source,
        "cost_note": agent.cost_note,
        "tokens": agent.tokens.to_json() if agent.tokens else None,
    }
    if agent.cost_usd >= budget:
        return Verdict(
            "budget", f"spent {usd(agent.cost_usd)} of its {usd(budget)} budget ({source})", data, fire="budget"
        )
    if warn_at > 0 and agent.cost_usd >= warn_at * budget and not agent.budget_warned:
        share = agent.cost_usd / budget
        return Verdict(
            "budget_warning",
            f"spent {usd(agent.cost_usd)}, {share:.0%} of its {usd(budget)} budget ({source})",
            {**data, "warn_at": warn_at},
        )
    return None


@dataclass(frozen=True)
class Daily:
    """One daily budget's standing: its scope (a profile, or all), spent, limit."""

    scope: str
    spent: float
    limit: float

    @property
    def share(self) -> float:
        return self.spent / self.limit if self.limit else 0.0

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.limit

    def text(self) -> str:
        who = "daily budget" if self.scope == ALL else f"profile {self.scope}: daily budget"
        return (
            f"{who} {usd(self.limit)} spent"
            if self.exhausted
            else (f"{who}: {usd(self.spent)} of {usd(self.limit)} spent ({self.share:.0%})")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "spent_usd": round(self.spent, 6),
            "budget_usd": self.limit,
            "exhausted": self.exhausted,
        }


def daily(config: Config, spent: dict[str, float]) -> list[Daily]:
    """Every daily budget that is set, with today's spending against it."""
    out = []
    if config.budgets.daily > 0:
        out.append(Daily(ALL, sum(spent.values()), config.budgets.daily))
    for name, profile in config.profiles.items():
        if profile.daily_budget > 0:
            out.append(Daily(name, spent.get(name, 0.0), profile.daily_budget))
    return out


def daily_block(config: Config, profile: str, spent: dict[str, float]) -> Daily | None:
    """The spent daily budget that keeps an agent of ``profile`` from starting, or None."""
    for budget in daily(config, spent):
        if budget.exhausted and budget.scope in (ALL, profile):
            return budget
    return None


def daily_warnings(config: Config, spent: dict[str, float]) -> list[Daily]:
    """Daily budgets at or past ``warn_at`` (the caller warns once a day for each)."""
    warn_at = config.budgets.warn_at
    return [b for b in daily(config, spent) if warn_at > 0 and b.share >= warn_at]


__all__ = [
    "ALL",
    "Daily",
    "attempt_limit",
    "check_agent",
    "daily",
    "daily_block",
    "daily_warnings",
    "day_of",
    "marks",
    "spent_today",
    "usd",
]
