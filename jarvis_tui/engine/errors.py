"""The engine's errors: each carries the CLI exit code it means (README, "Exit codes")."""

from __future__ import annotations


class SupervisorError(Exception):
    """An operation could not be done; the message says why. CLI exit code 1."""

    exit_code = 1


class UsageError(SupervisorError):
    """Bad input (unknown profile, empty prompt, bad reason...). CLI exit code 2."""

    exit_code = 2


class UnknownAgent(SupervisorError):
    """No agent matches an id or prefix. CLI exit code 3."""

    exit_code = 3


class Busy(SupervisorError):
    """Another live operation holds the agent (its claim): "already being fired", exit 1."""

    PAST = {
        "start": "started",
        "fire": "fired",
        "remove": "removed",
        "retry": "retried",
        "merge": "merged",
        "check": "checked",
        "recover": "recovered",
    }

    def __init__(self, agent_id: str, op: str, holder: str = "") -> None:
        self.agent_id = agent_id
        self.op = op
        by = f" ({holder})" if holder else ""
        super().__init__(f"agent {agent_id} is already being {self.PAST.get(op, op)}{by}")


__all__ = ["Busy", "SupervisorError", "UnknownAgent", "UsageError"]
