"""The git layer. This module is the one git runner: every git command jarvis runs goes
through :func:`run` or :func:`probe`. Beside it, one concept each:

    worktrees.py  an agent's worktree: add, verify, snapshot (preserve), restore, remove
    facts.py      the agent table's git columns for a fleet: what to read again, and when
    review.py     what an agent changed, and a merge preview (merge-tree: no checkout)
    merge.py      merging an agent's work: strategies, compare-and-swap of the branch
    checkouts.py  which branch is checked out where
    prune.py      which refs are safe to delete (their work is contained elsewhere)
    overlap.py    paths agents touched, and the overlaps between them
    scopes.py     file scopes: gitignore-style globs, matching and overlap

Plain ``subprocess`` (no GitPython: importing it cost ~92 ms of every CLI call, and its
``Repo`` objects keep ``git cat-file`` processes alive). Calls are explicit about where they
run (``git -C DIR``), never inherit a caller's ``GIT_DIR``/``GIT_INDEX_FILE`` (an agent that
runs ``jarvis`` from a git hook must not redirect our commands), and run with ``LC_ALL=C``
so messages we parse are never translated.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("jarvis.git")

# Variables that would point our commands at another repository, index or work tree.
_REPO_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_PREFIX",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    }
)

# Commits jarvis makes on its own behalf need an identity even on a machine with none set.
IDENTITY = {
    "GIT_AUTHOR_NAME": "jarvis-tui",
    "GIT_AUTHOR_EMAIL": "jarvis-tui@localhost",
    "GIT_COMMITTER_NAME": "jarvis-tui",
    "GIT_COMMITTER_EMAIL": "jarvis-tui@localhost",
}

DEFAULT_TIMEOUT = 120.0


class GitError(Exception):
    """A git command failed; the message names the command and git's own words."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password on a tty we do not have
    # Our reads (status in an agent's worktree above all) must never take its index.lock: the
    # agent's own `git add` would fail while we hold it. Only optional locks are skipped.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    if extra:
        env.update(extra)
    return env


def probe(
    cwd: Path | str,
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C cwd ARGS`` and return the result whatever the exit code (for questions
    whose 'no' is a non-zero exit, like ``rev-parse --verify``)."""
    argv = ["git", "-C", str(cwd), *args]
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            env=_env(env),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,  # never the caller's: no waiting on a terminal
            timeout=timeout,
            errors="surrogateescape",
        )
    except FileNotFoundError:
        raise GitError("git is not installed (apt-get install git)") from None
    except subprocess.TimeoutExpired:
        log.warning("git %s in %s timed out after %.0fs", args[0] if args else "", cwd, timeout)
        raise GitError(f"git {args[0] if args else ''} timed out after {timeout:.0f}s") from None


def run(
    cwd: Path | str,
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    strip: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Run ``git -C cwd ARGS``; its stdout (trailing newline stripped unless ``strip=False``).

    Raises :class:`GitError` with git's message when the command fails.
    """
    proc = probe(cwd, *args, env=env, input=input, timeout=timeout)
    if proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout.strip()
        log.warning("git %s in %s failed (%d): %s", " ".join(args[:3]), cwd, proc.returncode, detail)
        raise GitError(
            f"git {args[0]} failed: {detail or f'exit code {proc.returncode}'}",
            returncode=proc.returncode,
            stderr=proc.stderr,
        )
    out = proc.stdout
    return out.rstrip("\n") if strip else out


def ok(cwd: Path | str, *args: str, env: Mapping[str, str] | None = None) -> bool:
    """Did ``git -C cwd ARGS`` exit 0?"""
    return probe(cwd, *args, env=env).returncode == 0


def version() -> tuple[int, int] | None:
    if shutil.which("git") is None:
        return None
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


__all__ = ["IDENTITY", "GitError", "ok", "probe", "run", "version"]
