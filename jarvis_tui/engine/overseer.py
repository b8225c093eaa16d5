"""The overseer: carries out the policies' decisions, once per tick, in the lease holder only.

:mod:`.policies` decides; this module reads the registry, asks, and acts through the
:class:`~.supervisor.Supervisor` (fire, retry, transitions), so an automatic fire preserves
work exactly like a manual one. Every automatic decision is recorded as an event of kind
``policy`` whose data holds the decision, the rule and the reading that caused it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import budgets
from .admission import dependency_state
from .errors import SupervisorError
from .lifecycle import Event
from .models import BLOCKED, DONE, FAILED, RUNNING, Agent
from .policies import (
    STALLED_PREFIX,
    RunawayTracker,
    Verdict,
    check_stall,
    check_timeout,
    plan_retry,
    pressure_victim,
)
from .resources import SystemReading, TreeUsage, process_tree, terminate
from .schema import ATTEMPT_FIELDS
from .supervisor import Supervisor

REPORT_EXIT_GRACE = 10.0  # seconds an agent may take to exit by itself after reporting its outcome
REPORT_LOOKBACK = 3600.0  # how far back a (re)started engine looks for such agents


@dataclass(frozen=True)
class Action:
    """What the overseer did this tick (for screens and the headless log)."""

    kind: str  # retry, retry_exhausted, fire, stalled, unstalled, unblocked, budget_warning, daily_budget_*,
    # stopped_after_report, error
    agent_id: str
    note: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "agent_id": self.agent_id, "note": self.note, "data": self.data}


class Overseer:
    def __init__(self, sup: Supervisor, *, rand: Callable[[], float] = random.random) -> None:
        self.sup = sup
        self.rand = rand
        self.runaway = RunawayTracker()
        self.last_pressure_at: float | None = None
        self._settled: set[str] = set()  # failed attempts whose retry question is answered
        self._ended_seen: set[str] = set()  # reported agents whose leftover processes were looked at

    def apply(self, reading: SystemReading, usage: dict[str, TreeUsage], now: float) -> list[Action]:
        actions = self.watch(usage, now)
        actions += self.budgets(now)
        actions += self.pressure(reading, now)
        actions += self.retries(now)
        actions += self.unblock()
        actions += self.ended_by_report(now)
        return actions

    # ------------------------------------------------------------------ helpers

    def _event(self, agent: Agent, decision: str, note: str, data: dict[str, Any]) -> None:
        self.sup.registry.add_event(
            "policy", agent.id, agent.task_id, now=self.sup.clock(), decision=decision, note=note, **data
        )

    def _fire(self, agent: Agent, verdict: Verdict) -> Action:
        assert verdict.fire is not None
        self._event(agent, "fire", verdict.note, {"reason": verdict.fire, **verdict.data})
        try:
            self.sup.fire(agent.id, verdict.fire, verdict.note, automatic=True)
        except SupervisorError as exc:  # e.g. someone fired it a moment ago
            return Action("error", agent.id, f"could not fire ({verdict.fire}): {exc}")
        return Action(
            "fire", agent.id, f"fired as {verdict.fire}: {verdict.note}", {"reason": verdict.fire, **verdict.data}
        )

    # ------------------------------------------------------------------ watch: timeout, runaway, stall

    def watch(self, usage: dict[str, TreeUsage], now: float) -> list[Action]:
        actions: list[Action] = []
        running = self.sup.registry.agents(statuses=RUNNING)
        self.runaway.forget(a.id for a in running)
        for agent in running:
            profile = self.sup.config.profiles.get(agent.agent)
            if profile is None:
                continue
            verdict = check_timeout(agent, profile, now)
            verdict = verdict or self.runaway.update(agent, profile, usage.get(agent.id), now)
            if verdict is not None:
                actions.append(self._fire(agent, verdict))
                continue
            stall = check_stall(agent, profile, now)
            if stall is None:
                continue
            if stall.kind == "unstalled":
                if self._flag(agent, stalled=False, status_reason="working"):
                    self._event(agent, "unstalled", stall.note, stall.data)
                    actions.append(Action("unstalled", agent.id, stall.note, stall.data))
                continue
            reason = f"{STALLED_PREFIX}silent {stall.data['silent']:.0f}s"
            if not agent.stalled and self._flag(agent, stalled=True, status_reason=reason):
                self._event(agent, "stalled", stall.note, {**stall.data, "fire_stalled": profile.fire_stalled})
                actions.append(Action("stalled", agent.id, stall.note, stall.data))
            if stall.fire:
                actions.append(self._fire(agent, stall))
        return actions

    def _flag(self, agent: Agent, **fields: object) -> bool:
        """Set a flag (not a status) if the agent is still as read and nobody claims it."""
        with self.sup.registry.transaction() as conn:
            return self.sup.registry.write_row(
                conn,
                agent.id,
                dict(fields),
                columns=ATTEMPT_FIELDS,
                where="status = ? AND claim_token IS NULL",
                params=(str(agent.status),),
            )

    # ------------------------------------------------------------------ a reported outcome ends the run

    def ended_by_report(self, now: float) -> list[Action]:
        """An agent that reported its outcome (``jarvis report --status``) has ended its run; if
        its processes still run :data:`REPORT_EXIT_GRACE` seconds later (an interactive tool back
        at its prompt), they are stopped: they would hold RAM for good and look like orphans. Its
        files stay in its worktree; its status stays what it reported. Each agent is looked at
        once, and tmux is asked only when there is one to look at."""
        rows = self.sup.registry.ids(
            "reported_status IS NOT NULL AND status IN (?, ?) AND removed = 0 AND claim_token IS NULL "
            "AND ended_at BETWEEN ? AND ?",
            (str(DONE), str(FAILED), now - REPORT_LOOKBACK, now - REPORT_EXIT_GRACE),
        )
        due = [agent_id for agent_id in rows if agent_id not in self._ended_seen]
        if not due:
            return []
        panes = self.sup.tmux.list_panes()
        actions: list[Action] = []
        for agent_id in due:
            self._ended_seen.add(agent_id)
            agent = self.sup.registry.get(agent_id)
            pane = panes.get(agent.tmux_session or "")
            if pane is None or pane.dead or pane.pid is None or pane.pid != agent.pid:
                continue  # it ended by itself (or its session is gone): nothing runs
            procs = process_tree(pane.pid, agent.id)
            if not procs:
                continue
            terminate(procs, self.sup.config.supervisor.kill_grace)
            note = (
                f"reported {agent.reported_status} and still running {REPORT_EXIT_GRACE:g}s later: "
                f"stopped its {len(procs)} process(es); its files stay in its worktree"
            )
            self._event(agent, "stopped_after_report", note, {"pids": sorted(p.pid for p in procs)})
            actions.append(Action("stopped_after_report", agent.id, note))
        return actions

    # ------------------------------------------------------------------ budgets

    def budgets(self, now: float) -> list[Action]:
        """Attempts over their budget are fired (``budget``); warnings at ``warn_at``, per
        attempt and once a day per daily budget. Costs are the columns :mod:`.usage` keeps."""
        config = self.sup.config
        actions: list[Action] = []
        for agent in self.sup.registry.agents(statuses=RUNNING):
            verdict = budgets.check_agent(agent, config.profiles.get(agent.agent), config.budgets.warn_at)
            if verdict is None:
                continue
            if verdict.fire:
                actions.append(self._fire(agent, verdict))
                self._budget_hook("attempt_spent", verdict.note, id=agent.id, agent=agent.agent, **verdict.data)
            elif self._flag(agent, budget_warned=True):
                self._event(agent, "budget_warning", verdict.note, verdict.data)
                self._budget_hook("attempt_warning", verdict.note, id=agent.id, agent=agent.agent, **verdict.data)
                actions.append(Action("budget_warning", agent.id, verdict.note, verdict.data))
        if config.budgets.daily > 0 or any(p.daily_budget > 0 for p in config.profiles.values()):
            day = budgets.day_of(now)
            for daily in budgets.daily_warnings(config, budgets.spent_today(self.sup.registry, now)):
                decision = "daily_budget_spent" if daily.exhausted else "daily_budget_warning"
                key = f"budget:{day}:{daily.scope}:{decision}"
                if self.sup.registry.get_meta(key):
                    continue  # said once today
                self.sup.registry.set_meta(key, str(now))
                data = {**daily.to_json(), "day": day, "warn_at": config.budgets.warn_at}
                self.sup.registry.add_event("policy", now=now, decision=decision, note=daily.text(), **data)
                self._budget_hook(decision, daily.text(), **data)
                actions.append(Action(decision, "", daily.text(), data))
        return actions

    def _budget_hook(self, kind: str, note: str, **data: Any) -> None:
        self.sup.budget_hooks.send({"kind": kind, "note": note, "at": self.sup.clock(), **data})

    # ------------------------------------------------------------------ pressure

    def pressure(self, reading: SystemReading, now: float) -> list[Action]:
        res = self.sup.config.resources
        if res.emergency_ram <= 0:
            return []
        found = pressure_victim(
            self.sup.registry.agents(statuses=RUNNING),
            reading,
            res.emergency_ram,
            now=now,
            last_fire_at=self.last_pressure_at,
            cooldown=max(res.window, 2.0),
        )
        if found is None:
            return []
        victim, verdict = found
        self.last_pressure_at = now
        return [self._fire(victim, verdict)]

    # ------------------------------------------------------------------ retries

    def retries(self, now: float) -> list[Action]:
        actions: list[Action] = []
        failed = self.sup.registry.agents(statuses=frozenset({FAILED}), latest_only=True)
        self._settled &= {a.id for a in failed}  # bounded by what can still need an answer
        for agent in failed:
            if agent.id in self._settled:
                continue
            profile = self.sup.config.profiles.get(agent.agent)
            plan = plan_retry(self.sup.registry.attempts_of(agent.task_id), profile, rand=self.rand)
            if plan is None or plan.failed_id != agent.id:
                self._settled.add(agent.id)
                continue
            if not plan.retry:
                self._settled.add(agent.id)
                if plan.max_attempts > 1 and not self._recorded(agent, "retry_exhausted"):
                    self._event(agent, "retry_exhausted", plan.note, plan.to_json())
                    actions.append(Action("retry_exhausted", agent.id, plan.note, plan.to_json()))
                continue
            data = {**plan.to_json(), "exit_code": agent.exit_code, "status_reason": agent.status_reason}
            self._event(agent, "retry", plan.note, data)
            try:
                new = self.sup.retry(agent.id, not_before=now + plan.delay if plan.delay > 0 else None, automatic=True)
            except SupervisorError as exc:
                self._settled.add(agent.id)
                actions.append(Action("error", agent.id, f"automatic retry failed: {exc}"))
                continue
            self._settled.add(agent.id)
            actions.append(Action("retry", agent.id, plan.note, {**data, "new_id": new.id}))
        return actions

    def _recorded(self, agent: Agent, decision: str) -> bool:
        return any(
            e["kind"] == "policy" and e["data"].get("decision") == decision
            for e in self.sup.registry.events(attempt_id=agent.id)
        )

    # ------------------------------------------------------------------ dependencies

    def unblock(self) -> list[Action]:
        """A blocked dependant waits again when its dependency gets a new attempt (e.g. a retry)."""
        blocked = self.sup.registry.agents(statuses=frozenset({BLOCKED}))
        if not blocked:
            return []
        latest = self.sup.registry.latest_of(*{a.after_task_id for a in blocked if a.after_task_id})
        actions: list[Action] = []
        for agent in blocked:
            state = dependency_state(agent, latest)
            if state is not None and state.block:
                continue
            deps = [(task, latest.get(task)) for task in agent.dependencies]
            said = ", ".join(f"{task} is {dep.status if dep else 'gone'}" for task, dep in deps)
            note = f"dependency {said} again" if len(deps) == 1 else f"dependencies: {said}"
            queue = state.queue if state else None
            if self.sup.transition(
                agent,
                Event.UNBLOCK,
                reason=note,
                queue_reason=queue.text if queue else None,
                queue_kind=queue.kind if queue else None,
                queue_data={"until": queue.until, **queue.data} if queue else None,
            ):
                first = deps[0][1] if deps else None
                self._event(
                    agent,
                    "unblocked",
                    note,
                    {
                        "dependency": deps[0][0] if deps else None,
                        "dependency_status": first.status if first else None,
                        "dependencies": {t: d.status if d else None for t, d in deps},
                    },
                )
                actions.append(Action("unblocked", agent.id, note))
        return actions


__all__ = ["Action", "Overseer"]
