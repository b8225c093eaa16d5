"""The agent table's two git columns for a whole fleet: commits ahead of the base, and
uncommitted changes. A dashboard polls them every few seconds; this decides which agents to
look at and how little git each look costs.

- An agent is looked at when its status or its output moved since its last look, and every
  :data:`FULL_ROUND` seconds anyway (a quiet agent's files rarely change).
- Commits ahead (``rev-list --count``) are counted again only when the worktree's HEAD may
  have moved: a stamp of the files git keeps it in (the worktree's ``HEAD``, the branch's
  loose ref, ``packed-refs``) is compared first, which costs a few ``stat`` calls and no
  process. Anything unusual (no such files, another ref storage) just counts again.
- Uncommitted changes (``status``, the dear call: it stats every file of the worktree) are
  read at once when the status or HEAD moved, else at most every :data:`DIRTY_EVERY` seconds
  for an agent that only printed.

For 20 printing agents that is ~7 git processes per 5-second round instead of 40.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import worktrees

if TYPE_CHECKING:
    from ..models import Agent

FULL_ROUND = 60.0  # seconds between looks at every running agent, printing or not
DIRTY_EVERY = 15.0  # seconds between status reads of an agent that only printed

Stamp = tuple[object, ...]


@dataclass(frozen=True)
class GitFacts:
    ahead: int
    dirty: bool | None


@dataclass
class _Seen:
    moved: tuple[str, float | None]  # (status, last output) at the last look
    head: Stamp | None  # where HEAD was (None: unknown, count again)
    base: str
    dirty_at: float
    facts: GitFacts


def head_stamp(worktree: Path) -> Stamp | None:
    """What changes whenever the worktree's HEAD commit may have changed, or None if unsure:
    the HEAD file, the branch's loose ref (the commit id itself) and packed-refs' stat."""
    try:
        pointer = (worktree / ".git").read_text(encoding="utf-8").strip()
        if not pointer.startswith("gitdir: "):
            return None
        gitdir = worktree / pointer[len("gitdir: ") :]  # (an absolute gitdir replaces worktree)
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return (head,)  # detached: the commit itself
        common = gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()
        if (common / "reftable").exists():
            return None
        try:
            loose: str | None = (common / head[len("ref: ") :]).read_text(encoding="utf-8")
        except FileNotFoundError:
            loose = None  # packed
        try:
            packed = (common / "packed-refs").stat()
            packed_stamp: tuple[int, int] | None = (packed.st_mtime_ns, packed.st_size)
        except FileNotFoundError:
            packed_stamp = None
        return (head, loose, packed_stamp)
    except (OSError, ValueError):
        return None


class FleetFacts:
    """One dashboard's memory of the fleet's git facts. :meth:`due` on the UI side,
    :meth:`read` in a worker (one at a time); ``facts`` holds the latest of each agent."""

    def __init__(self, repo: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.repo = repo
        self.clock = clock
        self.facts: dict[str, GitFacts] = {}
        self._seen: dict[str, _Seen] = {}
        self._full_at = float("-inf")

    def forget(self, keep: Iterable[str]) -> None:
        """Drop agents that left the table (removed, or an earlier attempt)."""
        keep = set(keep)
        for agent_id in [a for a in self._seen if a not in keep]:
            del self._seen[agent_id]
        for agent_id in [a for a in self.facts if a not in keep]:
            del self.facts[agent_id]

    def due(self, agents: Iterable[Agent]) -> list[Agent]:
        """The agents to look at now: status or output moved, or a full round is due."""
        now = self.clock()
        full = now - self._full_at >= FULL_ROUND
        if full:
            self._full_at = now
        todo = []
        for a in agents:
            if not (a.branch and a.base_commit):
                continue
            seen = self._seen.get(a.id)
            if seen is None or seen.moved != (a.status, a.last_output_at) or (full and a.is_active):
                todo.append(a)
        return todo

    def read(self, agents: Iterable[Agent]) -> dict[str, GitFacts]:
        """Look at these agents (see the module's rules); returns their facts, also kept."""
        out: dict[str, GitFacts] = {}
        for agent in agents:
            try:
                out[agent.id] = self._look(agent)
            except Exception:  # noqa: BLE001, S112 - a worktree vanishing mid-call: next round
                continue
        self.facts.update(out)
        return out

    def _look(self, agent: Agent) -> GitFacts:
        now = self.clock()
        base = agent.base_commit or ""
        moved = (agent.status, agent.last_output_at)
        worktree = Path(agent.worktree) if agent.worktree else None
        if worktree is None or not worktree.is_dir():  # ended and cleaned up: its branch, no worktree
            ahead = worktrees.ahead(self.repo, base, agent.branch or "HEAD")
            self._seen[agent.id] = _Seen(moved, None, base, now, GitFacts(ahead, None))
            return self._seen[agent.id].facts
        head = head_stamp(worktree)
        seen = self._seen.get(agent.id)
        if seen is not None and head is not None and (seen.head, seen.base) == (head, base):
            ahead = seen.facts.ahead
            recent = seen.moved[0] == agent.status and now - seen.dirty_at < DIRTY_EVERY
        else:
            ahead, recent = worktrees.ahead(worktree, base), False
        if seen is not None and recent:
            dirty, dirty_at = seen.facts.dirty, seen.dirty_at
        else:
            dirty, dirty_at = worktrees.is_dirty(worktree), now
        self._seen[agent.id] = _Seen(moved, head, base, dirty_at, GitFacts(ahead, dirty))
        return self._seen[agent.id].facts


__all__ = ["DIRTY_EVERY", "FULL_ROUND", "FleetFacts", "GitFacts", "head_stamp"]
