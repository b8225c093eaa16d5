"""Real-git helpers for the review, merge, prune and overlap tests: commits in one call, and
a fingerprint of everything a merge must not change when it refuses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import GIT_IDENTITY, git


def write(root: Path, files: dict[str, str | bytes | None]) -> None:
    """Write (str/bytes) or delete (None) files under ``root``."""
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def commit(checkout: Path, files: dict[str, str | bytes | None], message: str) -> str:
    """Write the files, commit them all in ``checkout``, return the new HEAD."""
    write(checkout, files)
    git(checkout, "add", "--all")
    git(checkout, "commit", "-q", "-m", message)
    return git(checkout, "rev-parse", "HEAD")


def _git(repo: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    full = {**os.environ, **GIT_IDENTITY, **(env or {})}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=full, input=input
    ).stdout.strip()


def commit_on(repo: Path, branch: str, files: dict[str, str], message: str) -> str:
    """Commit to ``branch`` without any checkout, as another process would (plumbing + CAS)."""
    tip = _git(repo, "rev-parse", f"refs/heads/{branch}")
    index = {"GIT_INDEX_FILE": str(repo / ".git" / "jarvis-test-index")}
    _git(repo, "read-tree", tip, env=index)
    for rel, text in files.items():
        blob = _git(repo, "hash-object", "-w", "--stdin", input=text)
        _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", env=index)
    tree = _git(repo, "write-tree", env=index)
    (repo / ".git" / "jarvis-test-index").unlink()
    new = _git(repo, "commit-tree", tree, "-p", tip, "-m", message)
    _git(repo, "update-ref", f"refs/heads/{branch}", new, tip)
    return new


def add_worktree(repo: Path, path: Path, branch: str, start: str = "main") -> Path:
    git(repo, "worktree", "add", "-q", "-b", branch, str(path), start)
    return path


def files_of(checkout: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(checkout)): p.read_bytes()
        for p in sorted(checkout.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(checkout).parts
    }


def fingerprint(repo: Path, *checkouts: Path) -> dict[str, object]:
    """Every ref, and for each checkout its HEAD, index (bytes) and files: what must not change."""
    result: dict[str, object] = {"refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)")}
    for checkout in (repo, *checkouts):
        index = Path(git(checkout, "rev-parse", "--path-format=absolute", "--git-path", "index"))
        result[str(checkout)] = {
            "head": git(checkout, "symbolic-ref", "-q", "HEAD")
            if _attached(checkout)
            else git(checkout, "rev-parse", "HEAD"),
            "index": index.read_bytes() if index.exists() else b"",
            "files": files_of(checkout),
        }
    return result


def _attached(checkout: Path) -> bool:
    return (
        subprocess.run(
            ["git", "-C", str(checkout), "symbolic-ref", "-q", "HEAD"], capture_output=True, check=False
        ).returncode
        == 0
    )


def parents(repo: Path, commit: str) -> list[str]:
    return git(repo, "rev-list", "--parents", "-n", "1", commit).split()[1:]


def is_ancestor(repo: Path, a: str, b: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", a, b], check=False).returncode == 0
