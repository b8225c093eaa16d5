"""The agents' own signals: hooks that make an agent report its state to jarvis.

Claude Code gets a settings file of the agent's own, ``sessions/<id>/claude-settings.json``,
passed with ``--settings`` (``{claude_settings}`` in the profile's command). Claude merges it
with the user's settings (anthropics/claude-code#11392): jarvis never edits ``~/.claude`` or
the repository. Codex gets its ``notify`` program as ``-c notify=[...]`` (``{codex_notify}``);
Codex appends one JSON argument to it when a turn completes (codex-rs/hooks/src/legacy_notify.rs).

Every hook runs ``jarvis report --state ...`` for this agent. It must find jarvis and the
agent whatever environment the tool gives its hooks, so the command names them outright: the
Python that runs jarvis, the package's folder, the config file and the agent id. It must
never fail the tool: a Claude ``Stop`` hook that exits 2 would keep Claude from stopping, so
the shell form ends in ``|| true`` and its output goes to ``sessions/<id>/hooks.log``.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from typing import TYPE_CHECKING, Any

from .paths import PACKAGE_ROOT

if TYPE_CHECKING:
    from .models import Agent
    from .supervisor import Supervisor

SETTINGS_FILE = "claude-settings.json"
HOOK_TIMEOUT = 15  # seconds Claude gives one hook (a report is one short registry write)

# Claude Code hook events -> the state they mean (matchers: Notification's notification_type).
# Binary strings of 2.1.330: permission_prompt "Claude needs your permission to use <tool>",
# idle_prompt "Claude is waiting for your input", elicitation_dialog (an MCP server asks).
CLAUDE_HOOKS: tuple[tuple[str, str | None, str], ...] = (
    ("SessionStart", None, "working"),
    ("UserPromptSubmit", None, "working"),
    ("Notification", "permission_prompt", "waiting"),
    ("Notification", "elicitation_dialog", "waiting"),
    ("Notification", "idle_prompt", "idle"),
    ("Stop", None, "idle"),
)


def report_argv(sup: Supervisor, agent_id: str, state: str, via: str) -> list[str]:
    """``jarvis report --state STATE`` for one agent, runnable from any environment."""
    return [
        "env",
        f"PYTHONPATH={PACKAGE_ROOT}",
        "JARVIS_NO_ENGINE=1",
        sys.executable,
        "-m",
        "jarvis_tui",
        "--config",
        str(sup.config.path),
        "report",
        "--id",
        agent_id,
        "--state",
        state,
        "--via",
        via,
    ]


def settings_path(sup: Supervisor, agent_id: str) -> str:
    return str(sup.paths.session_dir(agent_id) / SETTINGS_FILE)


def hooks_log(sup: Supervisor, agent_id: str) -> str:
    return str(sup.paths.session_dir(agent_id) / "hooks.log")


def claude_settings(sup: Supervisor, agent_id: str) -> dict[str, Any]:
    """The settings Claude Code loads with ``--settings``: only hooks, nothing of the user's."""
    hooks: dict[str, list[dict[str, Any]]] = {}
    log = shlex.quote(hooks_log(sup, agent_id))
    for event, matcher, state in CLAUDE_HOOKS:
        command = f"{shlex.join(report_argv(sup, agent_id, state, 'claude'))} >>{log} 2>&1 || true"
        group: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT}]}
        if matcher is not None:
            group = {"matcher": matcher, **group}
        hooks.setdefault(event, []).append(group)
    return {"hooks": hooks}


def codex_notify(sup: Supervisor, agent_id: str) -> str:
    """``notify=[...]`` for Codex's ``-c`` (a TOML value): the JSON of the turn is appended."""
    from .config_text import value_text  # late: TOML writing is for codex profiles only

    return "notify=" + value_text(report_argv(sup, agent_id, "idle", "codex"))


def placeholders(sup: Supervisor, agent_id: str) -> dict[str, str]:
    """The values of ``{claude_settings}`` and ``{codex_notify}`` (no I/O)."""
    return {"claude_settings": settings_path(sup, agent_id), "codex_notify": codex_notify(sup, agent_id)}


def prepare(sup: Supervisor, agent: Agent, items: tuple[str, ...]) -> None:
    """Write the files the profile's command (or environment) refers to, before the agent starts."""
    if any("{claude_settings}" in item for item in items):
        path = settings_path(sup, agent.id)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(claude_settings(sup, agent.id), fh, indent=2)
        os.replace(tmp, path)


# --------------------------------------------------------------------------- reading a hook's input


def hook_reason(via: str, state: str, payload: str | None) -> str:
    """A short human reason from what the tool passed its hook (Claude: stdin JSON; Codex: argv)."""
    try:
        data = json.loads(payload) if payload else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if via == "claude":
        event = str(data.get("hook_event_name") or "")
        if data.get("message"):
            return str(data["message"])[:200]
        if event == "Stop":
            return "finished its turn"
        if event == "UserPromptSubmit":
            return "prompt submitted"
        if event == "SessionStart":
            return f"session {data.get('source') or 'started'}"
        return event or state
    if via == "codex":
        last = str(data.get("last-assistant-message") or "").strip().splitlines()
        return "turn complete" + (f": {last[0][:160]}" if last else "")
    return state


__all__ = [
    "CLAUDE_HOOKS",
    "SETTINGS_FILE",
    "claude_settings",
    "codex_notify",
    "hook_reason",
    "placeholders",
    "prepare",
    "report_argv",
    "settings_path",
]
