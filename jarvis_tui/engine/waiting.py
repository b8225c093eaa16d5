"""Waiting for agents: ``jarvis wait`` and the MCP ``wait_for`` tool.

:func:`reached` is the condition, pure: have the agents reached the asked state (all of
them, or ``any``), can one of them no longer get there, or is it too early to say?
:func:`wait` polls the registry at a modest rate until then (no busy loop) and, when no
engine loop is observing the agents (no dashboard, no ``jarvis engine``), observes them
itself: a wait works with or without one.

A wait follows each TASK across its attempts: an agent that failed and will be retried
automatically (its profile's ``max_attempts``) is not final, its next attempt is waited for.

Exit codes (the CLI's and the tool's ``exit_code``): 0 reached, 1 an agent ended otherwise
than asked (failed while waiting for ``done``, or blocked for good), 124 timed out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .lifecycle import ACTIVE, ENDED, RUNNING, Status
from .models import BLOCKED, DONE, FAILED, MERGED, WAITING, Agent

if TYPE_CHECKING:
    from .supervisor import Supervisor

EXIT_REACHED, EXIT_OTHERWISE, EXIT_TIMEOUT = 0, 1, 124
# Names for sets of statuses (any single status may be named too).
ALIASES: dict[str, frozenset[str]] = {
    "done": frozenset({DONE, MERGED}),  # merged is done, and more
    "ended": frozenset(s.value for s in ENDED),
    "waiting": frozenset({WAITING}),
    "running": frozenset(s.value for s in RUNNING),
    "started": frozenset(s.value for s in ACTIVE | ENDED),  # out of the queue
}
UNTIL_HELP = "done, ended, waiting, running, started, or statuses (" + ", ".join(s.value for s in Status) + ")"


def parse_until(until: str | Sequence[str] | None) -> frozenset[str]:
    """``done`` / ``ended`` / ``waiting,failed`` (comma lists, repeatable) to a set of statuses."""
    words: list[str] = []
    for item in [until] if isinstance(until, str) else list(until or ["ended"]):
        words += [w.strip().lower() for w in str(item).split(",") if w.strip()]
    if not words:
        words = ["ended"]
    statuses: set[str] = set()
    for word in words:
        if word in ALIASES:
            statuses |= ALIASES[word]
        elif word in {s.value for s in Status}:
            statuses.add(word)
        else:
            raise UsageError(f"unknown state {word!r} for --until (choose from {UNTIL_HELP})")
    return frozenset(statuses)


@dataclass(frozen=True)
class Outcome:
    code: int  # EXIT_REACHED, EXIT_OTHERWISE or EXIT_TIMEOUT
    agents: list[Agent]  # each task's latest attempt, in the order asked
    otherwise: list[str] = field(default_factory=list)  # ids that can no longer reach the state

    @property
    def word(self) -> str:
        return {EXIT_REACHED: "reached", EXIT_OTHERWISE: "ended_otherwise", EXIT_TIMEOUT: "timeout"}[self.code]

    def to_json(self, until: Collection[str], *, any_: bool, waited: float) -> dict[str, Any]:
        """``jarvis wait --json`` and the MCP ``wait_for`` result."""
        return {
            "outcome": self.word,
            "exit_code": self.code,
            "until": sorted(until),
            "any": any_,
            "waited": round(waited, 3),
            "otherwise": self.otherwise,
            "agents": [a.to_json() for a in self.agents],
        }


def final(agent: Agent, targets: frozenset[str], retrying: Collection[str]) -> bool:
    """Can ``agent`` no longer reach ``targets`` (by itself, without someone acting)?

    Ended: final, unless a retry of its task is coming (``retrying``: task ids) or it is done
    and ``merged`` is asked (a merge is still to come). Blocked: final unless one of the
    dependencies that blocked it is being retried. Anything else may still get there.
    """
    if agent.status in targets:
        return False
    if agent.status in ENDED:
        if agent.status == FAILED and agent.task_id in retrying:
            return False
        return not (agent.status == DONE and MERGED in targets)
    if agent.status == BLOCKED:
        return not any(task in retrying for task in agent.dependencies)
    return False


def reached(
    agents: Sequence[Agent], targets: frozenset[str], *, any_: bool = False, retrying: Collection[str] = ()
) -> Outcome | None:
    """The outcome once it is known, else ``None`` (keep waiting)."""
    hit = [a for a in agents if a.status in targets]
    lost = [a.id for a in agents if final(a, targets, retrying)]
    if any_:
        if hit:
            return Outcome(EXIT_REACHED, list(agents))
        if len(lost) == len(agents):
            return Outcome(EXIT_OTHERWISE, list(agents), lost)
        return None
    if lost:  # fail fast: the whole set can no longer be reached
        return Outcome(EXIT_OTHERWISE, list(agents), lost)
    if len(hit) == len(agents):
        return Outcome(EXIT_REACHED, list(agents))
    return None


def retrying_tasks(sup: Supervisor, agents: Iterable[Agent]) -> set[str]:
    """Tasks among ``agents`` (and their dependencies) whose failed attempt will be retried."""
    from .policies import plan_retry  # late: the CLI's parser imports this module for its words

    tasks: set[str] = set()
    for agent in agents:
        if agent.status == FAILED:
            tasks.add(agent.task_id)
        if agent.status == BLOCKED:
            tasks.update(agent.dependencies)
    out: set[str] = set()
    for task in tasks:
        attempts = sup.registry.attempts_of(task)
        if not attempts or attempts[-1].status != FAILED:
            continue
        plan = plan_retry(attempts, sup.config.profiles.get(attempts[-1].agent), rand=lambda: 0.0)
        if plan is not None and plan.retry:
            out.add(task)
    return out


def wait(
    sup: Supervisor,
    idents: Sequence[str],
    *,
    until: str | Sequence[str] | None = None,
    any_: bool = False,
    timeout: float | None = None,
    interval: float = 0.5,
    observe_every: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Block until the agents reach ``until`` (default ``ended``), or ``timeout`` seconds pass.

    Polls the registry every ``interval`` seconds; every ``observe_every`` seconds it
    reconciles (one tmux call) when no live engine loop holds the lease.
    """
    from .lease import holder_alive  # late, as plan_retry

    if not idents:
        raise UsageError("wait for which agents? give one or more ids")
    if timeout is not None and timeout < 0:
        raise UsageError("--timeout must be 0 or more seconds")
    targets = parse_until(until)
    tasks: list[str] = []
    for ident in idents:  # unknown ids fail here (exit 3), before any waiting
        task = sup.get(ident).task_id
        if task not in tasks:
            tasks.append(task)
    deadline = None if timeout is None else clock() + timeout
    observed = float("-inf")
    while True:
        if clock() - observed >= observe_every:
            observed = clock()
            if holder_alive(sup.registry) is None:
                sup.reconcile()
        latest = {
            a.task_id: a for a in sup.registry.agents(include_removed=True, latest_only=True) if a.task_id in tasks
        }
        agents = [latest[t] for t in tasks if t in latest]
        concerned = [a for a in agents if a.status in (FAILED, BLOCKED)]
        outcome = reached(agents, targets, any_=any_, retrying=retrying_tasks(sup, concerned) if concerned else ())
        if outcome is not None:
            return outcome
        if deadline is not None and clock() >= deadline:
            return Outcome(EXIT_TIMEOUT, agents)
        sleep(interval if deadline is None else max(0.0, min(interval, deadline - clock())))


__all__ = [
    "ALIASES",
    "EXIT_OTHERWISE",
    "EXIT_REACHED",
    "EXIT_TIMEOUT",
    "UNTIL_HELP",
    "Outcome",
    "final",
    "parse_until",
    "reached",
    "retrying_tasks",
    "wait",
]
