"""Git worktrees, one per agent, and the preservation of their work.

Every command goes through the one git runner (:mod:`.git`), always with an explicit
directory: nothing touches the process-wide cwd.

Preserving work never touches the agent's branch, its index or the main checkout: the
worktree's files are added to a TEMPORARY index, written as a tree, committed with
``commit-tree`` and pointed at by a ref under ``refs/jarvis/``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import git  # this package: the runner (run, probe, ok)
from . import IDENTITY as JARVIS_IDENTITY


class WorktreeError(git.GitError):
    pass


def _run(cwd: Path, *args: str, env: dict[str, str] | None = None, strip: bool = True) -> str:
    try:
        return git.run(cwd, *args, env=env, strip=strip)
    except git.GitError as exc:
        raise WorktreeError(str(exc), returncode=exc.returncode, stderr=exc.stderr) from None


def slugify(text: str, limit: int = 32) -> str:
    """A branch-safe slug of a title: lower-case ASCII words joined by '-'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "task"


def resolve_commit(repo: Path, rev: str) -> str:
    return _run(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")


def add(repo: Path, path: Path, branch: str | None, start: str, *, workers: int = 1) -> None:
    """New worktree at ``path`` on a NEW branch ``branch`` (None: detached) at ``start``.

    ``workers``: processes writing its files (git's ``checkout.workers``; 0: one per CPU
    core). Writing a few thousand files is most of a spawn, and spread over workers it takes
    ~15 % less time on an idle disk, ~40 % less on a busy one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    where = ["-b", branch] if branch else ["--detach"]
    _run(repo, "-c", f"checkout.workers={workers}", "worktree", "add", "--quiet", *where, str(path), start)


def verify(repo: Path, worktree: Path) -> str | None:
    """Why ``worktree`` is NOT verifiably a worktree of ``repo`` (None: it is).

    A preserving git command run in a folder whose ``.git`` file is gone would walk up to the
    repository that contains it (often the main checkout) and snapshot THAT. So before any
    snapshot: the folder must be its own top level, and its git dir must be one of ``repo``'s
    worktree git dirs.
    """
    if not worktree.is_dir():
        return f"{worktree} does not exist"
    if not (worktree / ".git").is_file():
        return f"{worktree}/.git is missing (the worktree's link to the repository is broken)"
    proc = git.probe(worktree, "rev-parse", "--show-toplevel", "--git-dir", "--git-common-dir")
    if proc.returncode != 0:
        return f"git does not recognise {worktree}: {proc.stderr.strip()}"
    try:
        top, git_dir, common = proc.stdout.splitlines()[:3]
    except ValueError:
        return f"git gave no answer for {worktree}"
    main_common = git.run(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")

    def resolve(answer: str) -> Path:  # git's relative answers are relative to the worktree
        return (worktree / answer).resolve()

    if resolve(top) != worktree.resolve():
        return f"{worktree} is not a worktree's top level (git sees {top})"
    if (
        resolve(common) != Path(main_common).resolve()
        or resolve(git_dir).parent != Path(main_common).resolve() / "worktrees"
    ):
        return f"{worktree} belongs to another repository ({resolve(common)})"
    return None


def _tree_of(cwd: Path, rev: str) -> str:
    return _run(cwd, "rev-parse", "--verify", f"{rev}^{{tree}}")


def snapshot(worktree: Path, ref: str, message: str) -> str | None:
    """Commit everything in the worktree (tracked, modified, untracked; not ignored) to ``ref``.

    The commit's parent is the worktree's HEAD; the branch, the index and the files stay
    exactly as they were. Returns the commit id, or ``None`` when nothing is uncommitted
    (no empty snapshot is made). ``ref`` moves by compare-and-swap: created only if absent;
    if another snapshot is already there (an earlier, interrupted run), the same files
    reuse it and different files get a commit that keeps the old one as a second parent,
    so no snapshot ever becomes unreachable.
    """
    head = _run(worktree, "rev-parse", "--verify", "HEAD")
    index_path = Path(_run(worktree, "rev-parse", "--git-path", "index"))
    if not index_path.is_absolute():
        index_path = worktree / index_path
    with tempfile.TemporaryDirectory(prefix="jarvis-index-") as tmp:
        temp_index = Path(tmp) / "index"
        if index_path.exists():
            shutil.copyfile(index_path, temp_index)  # keeps stat data: only changed files are hashed
        env = {"GIT_INDEX_FILE": str(temp_index)}
        _run(worktree, "add", "--all", "--", ":/", env=env)
        tree = _run(worktree, "write-tree", env=env)
    if tree == _tree_of(worktree, head):
        return None
    old = git.probe(worktree, "rev-parse", "--verify", "--quiet", ref).stdout.strip() or None
    if old is not None and _tree_of(worktree, old) == tree:
        return old
    parents = ["-p", head] + (["-p", old] if old else [])
    commit = _run(worktree, "commit-tree", tree, *parents, "-m", message, env=JARVIS_IDENTITY)
    _run(worktree, "update-ref", "-m", "jarvis: preserve work", ref, commit, old or "")
    return commit


def restore(worktree: Path, source: str) -> None:
    """Make the worktree's files exactly those of ``source``; its index stays at HEAD.

    Modified files come back modified, untracked ones untracked, deleted ones deleted.
    Files are written by ``checkout-index`` from a temporary index: byte-exact, modes kept.
    """
    with tempfile.TemporaryDirectory(prefix="jarvis-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _run(worktree, "read-tree", source, env=env)
        _run(worktree, "checkout-index", "--all", "--force", env=env)
    deleted = _run(worktree, "diff", "--name-only", "--diff-filter=D", "-z", "HEAD", source, strip=False)
    for rel in filter(None, deleted.split("\0")):
        (worktree / rel).unlink(missing_ok=True)


def remove(repo: Path, worktree: Path) -> None:
    """Remove a worktree whose work has ALREADY been preserved. Branches survive."""
    if worktree.exists():
        _run(repo, "worktree", "remove", "--force", "--force", str(worktree))
    _run(repo, "worktree", "prune")


def is_dirty(worktree: Path) -> bool:
    return bool(_run(worktree, "status", "--porcelain", "--untracked-files=normal"))


def update_ref(repo: Path, ref: str, new: str, old: str | None) -> None:
    """Move ``ref`` to ``new`` only if it still is ``old`` (``None``: only if it does not exist)."""
    _run(repo, "update-ref", ref, new, old or "")


def delete_branch(repo: Path, branch: str) -> None:
    _run(repo, "branch", "-D", branch)


def ref_exists(repo: Path, ref: str) -> bool:
    try:
        _run(repo, "rev-parse", "--verify", "--quiet", ref)
        return True
    except WorktreeError:
        return False


@dataclass(frozen=True)
class Details:
    commits_ahead: int
    last_commit: dict[str, object] | None
    dirty: bool | None


def details(repo: Path, worktree: Path | None, branch: str | None, base: str | None) -> Details:
    """Commits ahead of base, the last commit and dirtiness (None when there is no worktree)."""
    where = worktree if worktree is not None and worktree.is_dir() else repo
    head = "HEAD" if where != repo else (branch or "HEAD")
    ahead = 0
    last: dict[str, object] | None = None
    try:
        if base:
            ahead = int(_run(where, "rev-list", "--count", f"{base}..{head}") or 0)
        sha, subject, when = _run(where, "log", "-1", "--format=%H%x1f%s%x1f%ct", head).split("\x1f")
        last = {"sha": sha, "subject": subject, "at": float(when)}
    except (WorktreeError, ValueError):
        pass  # a branch with no commits of its own, or a worktree being removed: 0 ahead, no last commit
    dirty = is_dirty(where) if where != repo else None
    return Details(commits_ahead=ahead, last_commit=last, dirty=dirty)


def ahead(where: Path, base: str, head: str = "HEAD") -> int:
    """Commits on ``head`` (run in ``where``) that ``base`` does not have."""
    return int(_run(where, "rev-list", "--count", f"{base}..{head}") or 0)


def log(repo: Path, base: str, head: str, limit: int = 50) -> list[dict[str, object]]:
    out = _run(repo, "log", f"-{limit}", "--format=%h%x1f%s%x1f%ct%x1f%an", f"{base}..{head}")
    commits = []
    for line in out.splitlines():
        sha, subject, when, author = line.split("\x1f")
        commits.append({"sha": sha, "subject": subject, "at": float(when), "author": author})
    return commits


def diff(where: Path, base: str, *, stat: bool = False) -> str:
    """Diff of the working files (committed or not) against ``base``; ``stat`` for a summary."""
    args = ["diff", "--stat" if stat else "--patch", base]
    return _run(where, *args)


def diff_range(repo: Path, base: str, head: str, *, stat: bool = False) -> str:
    """Diff between two commits or refs (an agent with no worktree left: its branch or fired ref)."""
    return _run(repo, "diff", "--stat" if stat else "--patch", f"{base}..{head}")
