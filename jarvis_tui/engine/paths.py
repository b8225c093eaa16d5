"""Where an agent's things live: its state folder, log, exit record, spec, worktree, session.

One place, so the engine, the doctor and adoption agree on every path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding jarvis_tui/
SESSION_PREFIX = "jarvis-"  # agents' tmux sessions: jarvis-<id>
ENGINE_SESSION = "jarvis-engine"  # the headless engine's session on the same socket


def session_name(agent_id: str) -> str:
    return f"{SESSION_PREFIX}{agent_id}"


def agent_of_session(name: str) -> str | None:
    """The agent id of a ``jarvis-<id>`` session name (None for other sessions)."""
    if not name.startswith(SESSION_PREFIX) or name == ENGINE_SESSION:
        return None
    return name[len(SESSION_PREFIX) :]


@dataclass(frozen=True)
class StatePaths:
    """The runtime folders of one state dir: ``sessions/`` and ``worktrees/``."""

    sessions: Path
    worktrees: Path

    def session_dir(self, agent_id: str) -> Path:
        return self.sessions / agent_id

    def log(self, agent_id: str) -> Path:
        return self.session_dir(agent_id) / "output.log"

    def exit(self, agent_id: str) -> Path:
        return self.session_dir(agent_id) / "exit.json"

    def spec(self, agent_id: str) -> Path:
        return self.session_dir(agent_id) / "spec.json"

    def prompt(self, agent_id: str) -> Path:
        """What the agent was told: the task's prompt, in its profile's prompt_template if any."""
        return self.session_dir(agent_id) / "prompt.txt"

    def findings(self, agent_id: str) -> Path:
        """Its dependencies' findings, written at its start ($JARVIS_FINDINGS_FILE)."""
        return self.session_dir(agent_id) / "findings.md"

    def task_prompt(self, agent_id: str) -> Path:
        """The task's own prompt, kept apart when a prompt_template wrapped it (for doctor --adopt)."""
        return self.session_dir(agent_id) / "task.txt"

    def worktree(self, agent_id: str) -> Path:
        return self.worktrees / agent_id

    def records(self) -> list[Path]:
        """Every agent's spec file: the trail that survives a lost registry (doctor --adopt)."""
        if not self.sessions.is_dir():
            return []
        return sorted(self.sessions.glob("*/spec.json"))

    def has_records(self) -> bool:
        return bool(self.records()) or (self.worktrees.is_dir() and any(p.is_dir() for p in self.worktrees.iterdir()))


__all__ = ["ENGINE_SESSION", "PACKAGE_ROOT", "SESSION_PREFIX", "StatePaths", "agent_of_session", "session_name"]
