"""``{name}`` placeholders in a profile's command, env and prompt template: the names jarvis
fills in (checked when the config loads) and the one-pass substitution that fills them."""

from __future__ import annotations

import re

PLACEHOLDERS = (
    "prompt",
    "prompt_file",
    "worktree",
    "branch",
    "id",
    "task_id",
    "retry_context",
    "python",
    "findings_file",
    "session_dir",
    "claude_settings",
    "codex_notify",
    "kind",
    "model",
)
TEMPLATE_PLACEHOLDERS = (*PLACEHOLDERS, "task_prompt")  # prompt_template: the task's own prompt too
PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders in ONE argv item, in a single pass.

    A single pass matters: a prompt that itself contains ``{id}`` must reach the agent
    unchanged, which sequential ``str.replace`` calls would break. ``{{`` and ``}}`` are
    literal braces.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values.get(match.group(1), token)

    return PLACEHOLDER_RE.sub(replace, template)


__all__ = ["PLACEHOLDERS", "PLACEHOLDER_RE", "TEMPLATE_PLACEHOLDERS", "substitute"]
