"""The agent table's git columns for a fleet, on real git worktrees: what is read again, and
when (processes counted at the one git runner; an injected clock, never a timing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import git, make_repo
from git_helpers import add_worktree, commit, write

from jarvis_tui.engine import git as git_runner
from jarvis_tui.engine.git.facts import DIRTY_EVERY, FULL_ROUND, FleetFacts, GitFacts, head_stamp


@dataclass
class FakeAgent:
    """The fields :class:`FleetFacts` reads."""

    id: str
    worktree: str | None
    branch: str
    base_commit: str
    status: str = "working"
    last_output_at: float | None = 1.0

    @property
    def is_active(self) -> bool:
        return self.status in ("working", "waiting")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    real = git_runner.probe
    monkeypatch.setattr(git_runner, "probe", lambda cwd, *a, **k: calls.append(a) or real(cwd, *a, **k))
    return calls


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[FleetFacts, FakeAgent, Path, Clock]:
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    wt = add_worktree(repo, tmp_path / "wt", "jarvis/a")
    clock = Clock()
    return FleetFacts(repo, clock=clock), FakeAgent("a1", str(wt), "jarvis/a", base), wt, clock


def commands(calls: list[tuple[str, ...]]) -> list[str]:
    return [c[0] for c in calls]


def test_an_agent_that_only_prints_costs_no_git_until_its_status_read_is_due(fleet, git_calls) -> None:
    facts, agent, wt, clock = fleet
    assert facts.read([agent]) == {"a1": GitFacts(0, False)}
    assert commands(git_calls) == ["rev-list", "status"]
    git_calls.clear()
    write(wt, {"new.txt": "x\n"})
    agent.last_output_at = 2.0
    assert facts.due([agent]) == [agent]  # its output moved: looked at
    assert facts.read([agent]) == {"a1": GitFacts(0, False)}  # HEAD same, status read 0 s ago
    assert git_calls == []
    clock.now += DIRTY_EVERY
    agent.last_output_at = 3.0
    assert facts.read([agent]) == {"a1": GitFacts(0, True)}  # due: the new file shows
    assert commands(git_calls) == ["status"]


def test_a_commit_is_counted_at_the_next_look_and_a_status_change_reads_status(fleet, git_calls) -> None:
    facts, agent, wt, _clock = fleet
    facts.read([agent])
    commit(wt, {"a.txt": "a\n"}, "one")
    git_calls.clear()
    agent.last_output_at = 2.0
    assert facts.read([agent]) == {"a1": GitFacts(1, False)}
    assert commands(git_calls) == ["rev-list", "status"]  # HEAD moved: both read at once
    write(wt, {"a.txt": "changed\n"})
    git_calls.clear()
    agent.status = "waiting"
    assert facts.read([agent]) == {"a1": GitFacts(1, True)}
    assert commands(git_calls) == ["status"]


def test_packed_refs_and_a_detached_head_still_change_the_stamp(fleet) -> None:
    facts, agent, wt, _clock = fleet
    first = head_stamp(wt)
    assert first is not None
    commit(wt, {"a.txt": "a\n"}, "one")
    second = head_stamp(wt)
    assert second != first
    git(wt, "pack-refs", "--all")  # the loose ref goes, packed-refs changes
    third = head_stamp(wt)
    assert third != second
    commit(wt, {"b.txt": "b\n"}, "two")
    assert head_stamp(wt) != third
    git(wt, "checkout", "-q", "--detach", "HEAD~1")
    assert head_stamp(wt) == (git(wt, "rev-parse", "HEAD"),)
    assert facts.read([agent]) == {"a1": GitFacts(1, False)}


def test_quiet_agents_wait_for_the_full_round(fleet) -> None:
    facts, agent, _wt, clock = fleet
    assert facts.due([agent]) == [agent]  # never looked at
    facts.read([agent])
    assert facts.due([agent]) == []  # quiet since
    clock.now += FULL_ROUND
    assert facts.due([agent]) == [agent]
    facts.forget([])
    assert facts.facts == {} and facts.due([agent]) == [agent]


def test_an_agent_without_its_worktree_is_read_from_its_branch(fleet, git_calls) -> None:
    facts, agent, wt, _clock = fleet
    commit(wt, {"a.txt": "a\n"}, "one")
    agent.worktree = str(wt.parent / "gone")
    assert facts.read([agent]) == {"a1": GitFacts(1, None)}
    assert commands(git_calls) == ["rev-list"]
