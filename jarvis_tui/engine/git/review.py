"""Review an agent's work before it is merged: what it changed, and would it merge.

Read-only: nothing here moves a ref, touches an index or writes a working file. The only
writes are git objects (merge-tree's trees, a snapshot's blobs and commit) that no ref
points at; git's gc drops them in time.

One shape of answer for three kinds of agents:

- active: its worktree. Uncommitted and untracked files are snapshotted into a commit built
  from a TEMPORARY copy of the worktree's index, so the agent's index, files and branch stay
  exactly as they were (:func:`snapshot_worktree`);
- ended: its branch;
- fired: its preserved ref (``refs/jarvis/fired/<id>``: a snapshot commit whose parent is the
  branch tip), passed as ``snapshot``.

The merge preview runs against the CURRENT tip of the target branch, not the commit the
agent started from, with ``git merge-tree --write-tree`` (git >= 2.38): no checkout, no index.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .. import git  # this package: the runner (run, probe, ok)

SNAPSHOT_MESSAGE = "jarvis: uncommitted work (review snapshot)"


class ReviewError(git.GitError):
    """A question about an agent's work that cannot be answered, or an action refused.

    Whenever this is raised, nothing was changed."""


class NotABranch(ReviewError):
    """The target names a commit (or nothing), not a branch: only a branch can be merged into."""


class FileStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    COPIED = "copied"
    TYPE_CHANGED = "type changed"


_STATUS = {
    "A": FileStatus.ADDED,
    "M": FileStatus.MODIFIED,
    "D": FileStatus.DELETED,
    "R": FileStatus.RENAMED,
    "C": FileStatus.COPIED,
    "T": FileStatus.TYPE_CHANGED,
}


class PreviewStatus(StrEnum):
    CLEAN = "clean"
    CONFLICTS = "conflicts"
    ALREADY_MERGED = "already merged"


@dataclass(frozen=True)
class Branch:
    """A branch at one moment: the tip we read is what a compare-and-swap expects."""

    name: str  # "main"
    ref: str  # "refs/heads/main"
    tip: str
    tree: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    author: str
    email: str
    at: float  # author time, seconds since the epoch


@dataclass(frozen=True)
class FileChange:
    path: str
    status: FileStatus
    old_path: str | None = None  # renamed or copied from
    added: int | None = None  # lines; None for a binary file
    deleted: int | None = None

    @property
    def binary(self) -> bool:
        return self.added is None


@dataclass(frozen=True)
class MergeTree:
    """What ``git merge-tree --write-tree`` said: the merged tree (with conflict markers
    when there are conflicts) and the conflicting paths."""

    tree: str
    conflicts: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True)
class Preview:
    """Would ``source`` merge into the branch's current tip?"""

    status: PreviewStatus
    into: str
    target_tip: str
    source: str
    conflicts: tuple[str, ...] = ()
    tree: str | None = None  # the merged tree when clean
    by_content: bool = False  # already merged: the tip has the changes, not the commits

    @property
    def summary(self) -> str:
        if self.status is PreviewStatus.CONFLICTS:
            return f"conflicts with {self.into} in {', '.join(self.conflicts)}"
        if self.status is PreviewStatus.ALREADY_MERGED:
            how = "already has these changes" if self.by_content else "already contains this work"
            return f"already merged: {self.into} {how}"
        return f"merges cleanly into {self.into} ({self.target_tip[:12]})"


@dataclass(frozen=True)
class WorktreeState:
    head: str  # the worktree's HEAD commit
    commit: str  # its files as a commit (the head itself when nothing is uncommitted)
    uncommitted: bool  # modified, deleted, staged or untracked (not ignored) files


@dataclass(frozen=True)
class Review:
    into: str  # the branch the work would merge into
    target_tip: str  # its tip when reviewed
    merge_base: str
    head: str  # the agent's committed tip
    source: str  # what a merge takes: the snapshot with uncommitted files, or the head
    commits: tuple[CommitInfo, ...]  # on the head, not on the target; newest first
    files: tuple[FileChange, ...]  # merge base -> source, committed and uncommitted
    uncommitted: bool
    preview: Preview


def resolve_branch(repo: Path, name: str) -> Branch:
    """The branch ``name`` (``main``, ``refs/heads/main`` or ``HEAD`` when it is attached).

    Raises :class:`NotABranch` with the reason for a commit, a detached HEAD or nothing."""
    if name == "HEAD":
        proc = git.probe(repo, "symbolic-ref", "-q", "HEAD")
        if proc.returncode != 0:
            raise NotABranch("HEAD is detached: it names a commit, not a branch; name the branch to merge into")
        name = proc.stdout.strip()
    ref = name if name.startswith("refs/heads/") else f"refs/heads/{name}"
    out = git.run(repo, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(tree)", ref)
    for line in out.splitlines():
        refname, tip, tree = line.split("\0")
        if refname == ref:  # the pattern also matches refs/heads/NAME/...: want the exact one
            return Branch(name=ref.removeprefix("refs/heads/"), ref=ref, tip=tip, tree=tree)
    if git.ok(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"):
        raise NotABranch(f"{name} is a commit, not a branch: merging moves a branch, so name one (e.g. main)")
    raise NotABranch(f"no branch named {name!r} in {repo}")


def resolve_commit(repo: Path, rev: str) -> str:
    proc = git.probe(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if proc.returncode != 0:
        raise ReviewError(f"{rev!r} is not a commit in {repo}")
    return proc.stdout.strip()


def is_ancestor(repo: Path, commit: str, of: str) -> bool:
    proc = git.probe(repo, "merge-base", "--is-ancestor", commit, of)
    if proc.returncode not in (0, 1):
        raise ReviewError(f"git merge-base failed: {proc.stderr.strip()}")
    return proc.returncode == 0


def merge_tree(repo: Path, ours: str, theirs: str) -> MergeTree:
    """Merge two commits in memory (``git merge-tree --write-tree``): no checkout, no index, no ref."""
    proc = git.probe(repo, "merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", ours, theirs)
    if proc.returncode not in (0, 1):  # 1 is "conflicts"; anything else is an error
        raise ReviewError(f"git merge-tree {ours[:12]} {theirs[:12]} failed: {proc.stderr.strip()}")
    tree, *paths = proc.stdout.split("\0")
    return MergeTree(tree=tree.strip(), conflicts=tuple(sorted({p for p in paths if p})))


def snapshot_worktree(worktree: Path, message: str = SNAPSHOT_MESSAGE) -> WorktreeState:
    """The worktree's files (tracked, modified, untracked; not ignored) as a commit on its HEAD.

    Works on a COPY of the worktree's index (the copy keeps stat data, so only changed files
    are hashed); the agent's index, files and refs are untouched and no ref points at the
    commit. Four git processes when something is uncommitted, three when not."""
    index, head, head_tree = git.run(
        worktree, "rev-parse", "--path-format=absolute", "--git-path", "index", "HEAD", "HEAD^{tree}"
    ).splitlines()
    with tempfile.TemporaryDirectory(prefix="jarvis-index-") as tmp:
        temp_index = Path(tmp) / "index"
        if Path(index).exists():
            shutil.copyfile(index, temp_index)
        env = {"GIT_INDEX_FILE": str(temp_index)}
        git.run(worktree, "add", "--all", "--", ":/", env=env)
        tree = git.run(worktree, "write-tree", env=env)
    if tree == head_tree:
        return WorktreeState(head=head, commit=head, uncommitted=False)
    commit = git.run(worktree, "commit-tree", tree, "-p", head, "-m", message, env=git.IDENTITY)
    return WorktreeState(head=head, commit=commit, uncommitted=True)


def preview(repo: Path, into: str, source: str) -> Preview:
    """Would ``source`` merge into the CURRENT tip of branch ``into``: clean, conflicts, or
    already merged (the tip contains the commit, or already has all its changes)."""
    return preview_branch(repo, resolve_branch(repo, into), resolve_commit(repo, source))


def preview_branch(repo: Path, branch: Branch, source: str) -> Preview:
    if is_ancestor(repo, source, branch.tip):
        return Preview(PreviewStatus.ALREADY_MERGED, branch.name, branch.tip, source)
    merged = merge_tree(repo, branch.tip, source)
    if not merged.clean:
        return Preview(PreviewStatus.CONFLICTS, branch.name, branch.tip, source, conflicts=merged.conflicts)
    if merged.tree == branch.tree:
        return Preview(PreviewStatus.ALREADY_MERGED, branch.name, branch.tip, source, tree=merged.tree, by_content=True)
    return Preview(PreviewStatus.CLEAN, branch.name, branch.tip, source, tree=merged.tree)


def commits_between(repo: Path, since: str, until: str, limit: int | None = None) -> tuple[CommitInfo, ...]:
    """Commits reachable from ``until`` and not from ``since``, newest first."""
    args = ["log", "-z", "--format=%H%x1f%an%x1f%ae%x1f%at%x1f%s"]
    if limit is not None:
        args.append(f"-{limit}")
    out = git.run(repo, *args, f"{since}..{until}", "--")
    commits = []
    for record in filter(None, out.split("\0")):
        sha, author, email, at, subject = record.split("\x1f", 4)
        commits.append(CommitInfo(sha=sha, subject=subject, author=author, email=email, at=float(at)))
    return tuple(commits)


def changed_files(repo: Path, since: str, until: str) -> tuple[FileChange, ...]:
    """Each file changed from ``since`` to ``until`` with its status and +/- line counts.

    One ``diff-tree`` (plumbing: the user's diff config, external diff tools or textconv
    cannot change what we parse) prints both the raw records and the numstat ones, in the
    same order."""
    out = git.run(repo, "diff-tree", "-r", "-z", "-M", "--raw", "--numstat", since, until, strip=False)
    tokens = out.split("\0")
    i = 0
    raw: list[tuple[str, str | None, str]] = []
    while i < len(tokens) and tokens[i].startswith(":"):
        letter = tokens[i].split()[-1][0]
        if letter in "RC":
            raw.append((letter, tokens[i + 1], tokens[i + 2]))
            i += 3
        else:
            raw.append((letter, None, tokens[i + 1]))
            i += 2
    counts: list[tuple[int | None, int | None]] = []
    while i < len(tokens) and tokens[i]:
        added, deleted, path = tokens[i].split("\t", 2)
        i += 1 if path else 3  # a rename's numstat names both paths in the next two tokens
        if added == "-":
            counts.append((None, None))
        else:
            counts.append((int(added), int(deleted)))
    if len(counts) != len(raw):  # never seen; keep the statuses rather than guess counts
        counts = [(None, None)] * len(raw)
    return tuple(
        FileChange(path=path, status=_STATUS.get(letter, FileStatus.MODIFIED), old_path=old, added=plus, deleted=minus)
        for (letter, old, path), (plus, minus) in zip(raw, counts, strict=False)
    )


def review(
    repo: Path,
    into: str,
    head: str | None = None,
    *,
    worktree: Path | None = None,
    snapshot: str | None = None,
    commit_limit: int | None = 200,
) -> Review:
    """Everything a reviewer needs about one agent's work against branch ``into``.

    - active agent: ``worktree`` (``head`` is the worktree's HEAD; its uncommitted and
      untracked files are snapshotted without touching anything);
    - ended agent: ``head`` (its branch);
    - fired agent: ``snapshot`` (its preserved ref; ``head`` defaults to its parent).
    """
    branch = resolve_branch(repo, into)
    if worktree is not None:
        state = snapshot_worktree(worktree)
        head_commit, source, uncommitted = state.head, state.commit, state.uncommitted
    elif snapshot is not None:
        source = resolve_commit(repo, snapshot)
        head_commit = resolve_commit(repo, head if head is not None else f"{source}^")
        trees = git.run(repo, "rev-parse", f"{source}^{{tree}}", f"{head_commit}^{{tree}}").split()
        uncommitted = trees[0] != trees[1]
    elif head is not None:
        head_commit = source = resolve_commit(repo, head)
        uncommitted = False
    else:
        raise ReviewError("review needs a worktree, a head or a snapshot")
    proc = git.probe(repo, "merge-base", branch.tip, source)
    if proc.returncode != 0:
        raise ReviewError(f"{source[:12]} and {branch.name} share no history: nothing to review against")
    base = proc.stdout.strip()
    return Review(
        into=branch.name,
        target_tip=branch.tip,
        merge_base=base,
        head=head_commit,
        source=source,
        commits=commits_between(repo, branch.tip, head_commit, commit_limit),
        files=changed_files(repo, base, source),
        uncommitted=uncommitted,
        preview=preview_branch(repo, branch, source),
    )


def patch(repo: Path, into: str, source: str, path: str | None = None) -> str:
    """The patch of ``source`` against its merge base with ``into`` (``git diff into...source``),
    optionally for one path: what ``jarvis review --diff`` shows."""
    args = ["diff", "-M", "--no-color", "--no-ext-diff", f"{into}...{source}", "--"]
    if path is not None:
        args.append(path)
    return git.run(repo, *args, strip=False)


__all__ = [
    "Branch",
    "CommitInfo",
    "FileChange",
    "FileStatus",
    "MergeTree",
    "NotABranch",
    "Preview",
    "PreviewStatus",
    "Review",
    "ReviewError",
    "WorktreeState",
    "changed_files",
    "commits_between",
    "is_ancestor",
    "merge_tree",
    "patch",
    "preview",
    "preview_branch",
    "resolve_branch",
    "resolve_commit",
    "review",
    "snapshot_worktree",
]
