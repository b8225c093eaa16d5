"""A scratch repository for the review screen's tests: a base branch and one agent's branch
with every kind of change (modified, added, deleted, renamed, binary), made with fixed
authors and dates so every sha, and so every snapshot, is the same on each run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tui_helpers import NOW

BRANCH = "jarvis/add-type-hints-to-utils-e5f6a7"  # the snapshot agent e5f6a7's branch (tui_helpers.Fixed)

UTILS = '''"""Small helpers used all over the project."""

import os


def slugify(text):
    """Lower-case words joined by dashes."""
    return "-".join(text.lower().split())


def clamp(value, low, high):
    return max(low, min(high, value))


def env_flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes")


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]
'''

UTILS_TYPED = '''"""Small helpers used all over the project."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence


def slugify(text: str) -> str:
    """Lower-case words joined by dashes."""
    return "-".join(text.lower().split())


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes", "on")


def chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
'''


def git(repo: Path, *args: str, at: float = NOW - 20_000) -> str:
    stamp = f"@{int(at)} +0000"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "demo-agent",
        "GIT_AUTHOR_EMAIL": "demo@jarvis.invalid",
        "GIT_COMMITTER_NAME": "demo-agent",
        "GIT_COMMITTER_EMAIL": "demo@jarvis.invalid",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def make_review_repo(repo: Path, *, big: int = 0) -> Path:
    """``main`` and BRANCH (two commits ahead). ``big``: also add a file of that many lines."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "test")
    git(repo, "config", "user.email", "test@example.invalid")
    (repo / "README.md").write_text("# scratch project\n")
    (repo / "utils.py").write_text(UTILS)
    (repo / "config").mkdir()
    (repo / "config" / "defaults.toml").write_text('[server]\nport = 8080\nhost = "localhost"\nworkers = 4\n')
    (repo / "logo.png").write_bytes(bytes(range(256)) * 4)
    (repo / "obsolete.txt").write_text("nobody reads this\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial commit", at=NOW - 90_000)
    git(repo, "checkout", "-q", "-b", BRANCH)
    (repo / "utils.py").write_text(UTILS_TYPED)
    git(repo, "commit", "-q", "-am", "Add type hints to utils", at=NOW - 12_000)
    git(repo, "mv", "config/defaults.toml", "config/settings.toml")
    (repo / "config" / "settings.toml").write_text('[server]\nport = 8080\nhost = "localhost"\nworkers = 8\n')
    (repo / "logo.png").write_bytes(bytes(range(255, -1, -1)) * 4)
    (repo / "obsolete.txt").unlink()
    (repo / "docs").mkdir()
    (repo / "docs" / "typing.md").write_text("# Typing\n\nEvery helper in utils.py is annotated.\n")
    if big:
        (repo / "generated.py").write_text("".join(f"VALUE_{i} = {i}  # generated\n" for i in range(big)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Rename the config, drop obsolete notes", at=NOW - 9_000)
    git(repo, "checkout", "-q", "main")
    return repo
