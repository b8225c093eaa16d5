"""Ready profiles for the agents people run: Claude Code, Codex, Gemini CLI, Aider, OpenCode.

Each preset is plain data, exactly the keys of an ``[agents.NAME]`` table, so ``jarvis init
--agents claude,codex`` writes them with tomli-w and ``jarvis profiles`` shows them. Where
every command line, pattern and file format came from is recorded next to it (and in the
README's preset table); the patterns are tested against a real screen of each tool asking a
question and one of it busy (``tests/fixtures/screens/``). None of these tools could be run
here: the texts come from their source, shipped binaries and issue trackers (versions below).

- the prompt is one argv item (``{prompt}``) or a file (``{prompt_file}``), never a shell string;
- ``{claude_settings}`` is a settings file of the agent's own (hooks that report its state,
  :mod:`.agent_hooks`), ``{codex_notify}`` Codex's ``notify`` program setting;
- ``transcripts`` names the reader of its token usage (:mod:`.transcripts`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import Config, Profile

# What every worker is told around its task. It works alone, commits, and says when it is done.
# Where Claude Code, Codex and Gemini CLI keep their transcripts, when set: the agent is started
# with the supervisor's values and :mod:`.transcripts` reads there.
HOME_VARIABLES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME")

WORKER_TEMPLATE = """\
{task_prompt}

---
(From jarvis, the supervisor that started you; agent id {id}.)
- You work alone in your own git worktree, {worktree}, on your own branch, {branch}. Nobody else
  edits these files. Stay inside this folder; do not switch branches, merge or push.
- Commit your work to this branch as you go (small commits, clear messages): uncommitted work
  is at risk, committed work is reviewed and merged.
- When the task is finished and committed, run as your LAST step (it ends your run):
  jarvis report --status done --summary "<one line: what you did>"
  If you cannot do it, run: jarvis report --status failed --summary "<why>"
- To tell the person supervising you something that does not block you (a decision, an
  assumption, a question for later), run: jarvis note "<text>"
"""

# Aider runs shell commands only after asking, and commits by itself; it exits after the task.
AIDER_TEMPLATE = """\
{task_prompt}

---
(From jarvis, the supervisor that started you.) You work alone in your own git worktree on your
own branch, {branch}: nobody else edits these files. Keep your changes to this task, and commit
them (aider's automatic commits do this).
"""

PRESETS: dict[str, dict[str, Any]] = {
    # Claude Code 2.1.330: `claude --help` (interactive by default; a positional prompt starts the
    # session with it; --settings FILE merges with the user's settings, anthropics/claude-code#11392).
    "claude": {
        "command": [
            "claude",
            "--model",
            "{model}",
            "--settings",
            "{claude_settings}",
            "--permission-mode",
            "acceptEdits",
            "{prompt}",
        ],
        "prompt_template": WORKER_TEMPLATE,
        "waiting_patterns": [
            # binary strings: the permission dialog's question ("Do you want to proceed?", "Do you want
            # to make this edit to <file>?", "... allow Claude to fetch this content?"), its reject option
            # (older "No, ...", newer "Deny, ..."), the selected first option (issue #29925)
            r"Do you want to (?:proceed|make this edit to|create|allow)\b[^\n]*\?",
            r"(?:No|Deny), and tell Claude what to do differently",
            r"❯ 1\. Yes\b",
            # the workspace trust question of a new folder (issues #40002, #45298)
            r"Yes, I trust this folder",
            r"Do you trust the files in this folder\?",
        ],
        # footer hint while a turn runs (CHANGELOG 2.1.x "esc to interrupt"), spinner "✻ Verb…"
        "busy_patterns": [r"(?i)esc to interrupt", r"^\s*[·✢✳✶✻✽*] \S[^\n]*…"],
        "pattern_lines": 20,
        "transcripts": "claude",
        "model": "sonnet",
        "role": "lead developer: complex, multi-file changes",
        "cost_weight": 10.0,
        "max_concurrent": 3,
    },
    # Codex CLI 0.169.0: `codex --help` ([PROMPT] starts the session; --full-auto is gone, so
    # -s workspace-write -a on-request); notify program: codex-rs/hooks/src/legacy_notify.rs.
    "codex": {
        "command": [
            "codex",
            "--no-alt-screen",
            "-m",
            "{model}",
            "-s",
            "workspace-write",
            "-a",
            "on-request",
            "-c",
            'projects."{worktree}".trust_level="trusted"',
            "-c",
            "{codex_notify}",
            "{prompt}",
        ],
        "prompt_template": WORKER_TEMPLATE,
        "waiting_patterns": [
            # approval overlay (snapshot exec_approval_modal_exec.snap; labels in the 0.169 binary)
            r"Would you like to (?:run the following command|make the following edits|grant these permissions"
            r"|send input to[^?]*)\?",
            r"(?i)Press enter to confirm or esc to cancel",
            r"No, and tell Codex what to do differently",
            r"needs your approval\.",  # MCP elicitation (approval_overlay.rs)
        ],
        # status line "Working (12s • esc to interrupt)" (vt100 snapshot; case varies by version)
        "busy_patterns": [r"(?i)\((?:\d+[hms] ?)+ • esc to interrupt\)", r"(?i)esc to interrupt"],
        "pattern_lines": 20,
        "transcripts": "codex",
        "model": "gpt-5",
        "role": "implementation and tests",
        "cost_weight": 3.0,
        "max_concurrent": 2,
    },
    # Gemini CLI 0.61.0: `gemini --help` (-i: run the prompt and stay interactive; --skip-trust).
    "gemini": {
        "command": ["gemini", "-m", "{model}", "--skip-trust", "--approval-mode", "auto_edit", "-i", "{prompt}"],
        "prompt_template": WORKER_TEMPLATE,
        "waiting_patterns": [
            # ToolConfirmationMessage.tsx and its snapshots (ToolConfirmationQueue.test.tsx.snap)
            r'Allow execution of (?:MCP tool "[^"]*" from server "[^"]*"|\[[^\]]+\])\?',
            r"Apply this change\?",
            r"Do you want to proceed\?",
            r"No, suggest changes \(esc\)",
            r"^\s*│?\s*● 1\. Allow once",
        ],
        "busy_patterns": [r"\(esc to cancel, [^)]*\)"],  # LoadingIndicator.tsx
        "pattern_lines": 20,
        "transcripts": "gemini",
        "model": "gemini-2.5-pro",
        "role": "research, large-context reading",
        "cost_weight": 2.0,
        "max_concurrent": 2,
    },
    # Aider 0.86: aider/args.py. No flag both sends a message and stays interactive, so it runs the
    # task from the prompt file and exits (its exit code ends the run); its questions still wait.
    # --analytics-log writes token counts and aider's own price per call even with --no-analytics.
    "aider": {
        "command": [
            "aider",
            "--model",
            "{model}",
            "--message-file",
            "{prompt_file}",
            "--no-gitignore",
            "--no-check-update",
            "--no-analytics",
            "--analytics-log",
            "{session_dir}/aider-analytics.jsonl",
        ],
        "prompt_template": AIDER_TEMPLATE,
        # io.py confirm_ask: "Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: "
        "waiting_patterns": [r"\(Y\)es/\(N\)o(?:/\(A\)ll)?(?:/\(S\)kip all)?(?:/\(D\)on't ask again)? \[[^\]]*\]: ?$"],
        "busy_patterns": [r"Waiting for \S+"],  # waiting.py spinner "Waiting for <model>"
        "transcripts": "aider",
        "model": "sonnet",
        "role": "small, file-scoped edits",
        "cost_weight": 1.0,
        "max_concurrent": 2,
    },
    # OpenCode 1.18.33: `opencode --help` (--prompt seeds and submits a new session, anomalyco/opencode#37536).
    # Its tokens live in its own SQLite database, not a documented format: cost is estimated.
    "opencode": {
        "command": ["opencode", "--model", "{model}", "--prompt", "{prompt}"],
        "prompt_template": WORKER_TEMPLATE,
        "waiting_patterns": [  # routes/session/permission.tsx, strings confirmed in the 1.18.33 binary
            r"△ Permission required",
            r"Allow once\s+Allow always\s+Reject",
            r"△ Reject permission",
        ],
        "busy_patterns": [r"esc (?:again to )?interrupt"],
        "pattern_lines": 20,
        "model": "anthropic/claude-sonnet-4-5",
        "role": "multi-provider, cheap models",
        "cost_weight": 1.0,
        "max_concurrent": 2,
    },
}

# The demo agent (no LLM): what `jarvis init` wrote before presets existed, as a preset too.
DEMO = {
    "command": ["python", "-m", "jarvis_tui.demo_agent", "{prompt}"],
    "waiting_patterns": [r"\[y/N\]"],
    "model": "",
    "role": "developer",
    "cost_weight": 1.0,
}

ALL = ("demo", *PRESETS)


def preset(name: str) -> dict[str, Any]:
    if name == "demo":
        return dict(DEMO)
    return dict(PRESETS[name])


def parse_names(text: str) -> list[str]:
    """``claude,codex`` -> the names, checked; raises ValueError naming the unknown ones."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown or not names:
        raise ValueError(
            f"unknown agent preset {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(ALL)} (see jarvis profiles)"
        )
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- availability


def agent_path(extra: str | None = None) -> str:
    """The PATH an agent starts with: jarvis's own Python first (so `jarvis` is found), then ours."""
    parts = [str(Path(sys.executable).parent), extra or os.environ.get("PATH", "/usr/bin:/bin")]
    return os.pathsep.join(parts)


def program(command: Iterable[str]) -> str:
    return next(iter(command), "")


def missing_program(profile: Profile) -> str | None:
    """Why this profile cannot start here ("'claude' is not installed (not on PATH)"), or None."""
    exe = program(profile.command)
    if not exe or exe in ("python", "python3", "{python}") or exe.startswith("{"):
        return None
    path = agent_path(profile.env.get("PATH"))
    if os.sep in exe:
        return None if os.access(exe, os.X_OK) else f"{exe!r} is not an executable file"
    if shutil.which(exe, path=path) is None:
        return f"{exe!r} is not installed (not on PATH)"
    return None


def unavailable(config: Config) -> dict[str, str]:
    """Profiles that cannot start on this machine, and why."""
    return {name: why for name, profile in config.profiles.items() if (why := missing_program(profile))}


def describe() -> list[dict[str, Any]]:
    """The presets as rows for ``jarvis profiles`` (installed: its program is on PATH)."""
    rows = []
    for name in ALL:
        data = preset(name)
        exe = program(data["command"])
        installed = exe == "python" or shutil.which(exe, path=agent_path()) is not None
        rows.append(
            {
                "name": name,
                "program": exe,
                "installed": installed,
                "model": data.get("model", ""),
                "role": data.get("role", ""),
                "cost_weight": data.get("cost_weight", 1.0),
                "transcripts": data.get("transcripts", ""),
                "hooks": _hooks(data["command"]),
                "command": data["command"],
            }
        )
    return rows


def _hooks(command: list[str]) -> str:
    text = " ".join(command)
    if "{claude_settings}" in text:
        return "claude hooks"
    if "{codex_notify}" in text:
        return "codex notify"
    return ""


__all__ = [
    "ALL",
    "DEMO",
    "PRESETS",
    "WORKER_TEMPLATE",
    "agent_path",
    "describe",
    "missing_program",
    "parse_names",
    "preset",
    "unavailable",
]
