"""Where a branch is in use: checked out in some worktree, or in the middle of a rebase or bisect.

A branch that is checked out must not move behind its checkout's back (its files and index
would no longer match its tip), nor be deleted. ``git worktree list`` does not show a branch
that is being rebased or bisected (HEAD is detached meanwhile), yet moving it then would be
undone when the rebase finishes: those are read from each worktree's admin directory, as
git itself does before ``git branch -f``.
"""

from __future__ import annotations

from pathlib import Path

from .. import git  # this package: the runner (run, probe, ok)


def checkouts(repo: Path) -> dict[str, Path]:
    """Every branch checked out in a worktree of ``repo``: ``{"refs/heads/main": path}``.

    A worktree whose directory is gone (prunable) is still listed: git still considers its
    branch checked out, so we do too."""
    out = git.run(repo, "worktree", "list", "--porcelain", "-z", strip=False)
    found: dict[str, Path] = {}
    path: Path | None = None
    for field in out.split("\0"):
        if field.startswith("worktree "):
            path = Path(field[len("worktree ") :])
        elif field.startswith("branch ") and path is not None:
            found[field[len("branch ") :]] = path
    return found


def checkout_of(repo: Path, ref: str) -> Path | None:
    """The worktree where branch ``ref`` (``refs/heads/NAME``) is checked out, if any."""
    return checkouts(repo).get(ref)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def _worktree_of(admin: Path, common: Path) -> Path:
    if admin == common:
        return common.parent if common.name == ".git" else common
    gitfile = _read(admin / "gitdir")  # the path of the worktree's ".git" file
    return Path(gitfile).parent if gitfile else admin


def busy_reason(repo: Path, ref: str) -> str | None:
    """Why branch ``ref`` must not move now (a rebase or bisect of it in progress), or None."""
    common = Path(git.run(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    admins = [common, *sorted(p for p in (common / "worktrees").glob("*") if p.is_dir())]
    name = ref.removeprefix("refs/heads/")
    for admin in admins:
        for state in ("rebase-merge", "rebase-apply"):
            if _read(admin / state / "head-name") == ref:
                return f"{name} is being rebased in {_worktree_of(admin, common)}: finish or abort the rebase first"
        if _read(admin / "BISECT_START") == name:
            return f"{name} is being bisected in {_worktree_of(admin, common)}: run git bisect reset first"
    return None


__all__ = ["busy_reason", "checkout_of", "checkouts"]
