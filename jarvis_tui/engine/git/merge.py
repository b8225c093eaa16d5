"""Merge an agent's work into a branch: fast-forward, merge commit, squash or rebase.

Every strategy first builds the result WITHOUT a checkout (``merge-tree --write-tree`` plus
``commit-tree``), so a conflict or a refusal leaves refs, indexes and files exactly as they
were. Only then does the branch move, and only by compare-and-swap:

- not checked out anywhere: ``update-ref refs/heads/B NEW OLD``;
- checked out (typically the main checkout): ``git merge --ff-only NEW`` in that checkout,
  and only when it is clean. NEW descends from OLD, so this fast-forward updates the files
  and the ref atomically, and fails (changing nothing) if someone committed meanwhile.

A branch that moved under us means the whole computation runs again from the new tip
(``attempts`` times), so a concurrent commit is never overwritten: it ends up in the result
or the merge is refused.

Rebase replays the agent's commits one by one. Git 2.39 has no ``merge-tree --merge-base``
and no ``git replay``, so each step is a cherry-pick done by ``merge-tree``: the current
result tree gets a throw-away commit whose parent is the picked commit's parent, which makes
that parent the merge base -- exactly the three trees a cherry-pick merges. No worktree,
no temporary directory, nothing to clean up (the throw-away commits are unreferenced objects).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .. import git  # this package: the runner (run, probe, ok)
from .checkouts import busy_reason, checkout_of
from .review import Branch, NotABranch, ReviewError, is_ancestor, merge_tree, resolve_branch, resolve_commit


class Strategy(StrEnum):
    MERGE = "merge"  # fast-forward when possible, else a merge commit
    NO_FF = "no-ff"  # always a merge commit
    SQUASH = "squash"  # one single-parent commit with the merged tree
    REBASE = "rebase"  # the agent's commits replayed one by one onto the tip


class Outcome(StrEnum):
    FAST_FORWARD = "fast-forward"
    MERGE_COMMIT = "merge commit"
    SQUASH = "squash"
    REBASE = "rebase"
    ALREADY_MERGED = "already merged"


class MergeRefused(ReviewError):
    """The merge was refused for the reason in the message; nothing changed."""


class MergeConflict(ReviewError):
    """The merge would conflict; nothing changed. ``str(exc)`` is a retry context for the
    agent, e.g. ``rebase onto main: commit 1a2b3c4d5e6f (Add login) conflicts in a.py, b.py``."""

    def __init__(
        self,
        *,
        into: str,
        strategy: Strategy,
        paths: tuple[str, ...],
        commit: str | None = None,
        subject: str | None = None,
    ) -> None:
        where = f"rebase onto {into}" if strategy is Strategy.REBASE else f"{strategy} into {into}"
        what = f": commit {commit[:12]} ({subject}) conflicts in " if commit else ": conflicts in "
        super().__init__(where + what + ", ".join(paths))
        self.into, self.strategy, self.paths, self.commit = into, strategy, paths, commit

    @property
    def retry_context(self) -> str:
        return str(self)


@dataclass(frozen=True)
class MergeResult:
    outcome: Outcome
    into: str  # branch name
    previous: str  # the branch's tip before
    new: str | None  # its tip after; None on a dry run that would make new commits
    files: tuple[str, ...]  # paths that differ between previous and new
    where: Path | None  # the checkout that was updated; None when only the ref moved
    dry_run: bool = False
    commits: tuple[str, ...] = ()  # commits made, oldest first
    skipped: tuple[str, ...] = ()  # rebase: commits whose change the tip already had
    attempts: int = 1

    @property
    def summary(self) -> str:
        if self.outcome is Outcome.ALREADY_MERGED:
            return f"already merged into {self.into}: nothing to do"
        verb = "would" if self.dry_run else "did"
        where = str(self.where) if self.where else f"refs/heads/{self.into}"
        return f"{self.outcome} into {self.into} ({verb} change {len(self.files)} files; {where})"


@dataclass(frozen=True)
class _Pick:
    sha: str
    parent: str
    author: str
    email: str
    date: str
    subject: str
    message: str


@dataclass(frozen=True)
class _Plan:
    outcome: Outcome
    tree: str
    picks: tuple[tuple[_Pick, str], ...] = ()  # rebase: (picked commit, tree after it)
    skipped: tuple[str, ...] = ()


def commit_identity(repo: Path) -> dict[str, str]:
    """Environment for commits jarvis makes in ``repo``.

    The user's own identity when git has one (config ``user.name`` and ``user.email``): a
    merge they asked for is theirs, as if they ran git. Else ``git.IDENTITY`` (``jarvis-tui``),
    field by field overridden by any ``GIT_AUTHOR_*``/``GIT_COMMITTER_*`` in the environment,
    so a machine with no identity still gets commits."""
    proc = git.probe(repo, "config", "--get-regexp", r"^user\.(name|email)$")
    keys = {line.split(" ", 1)[0].lower() for line in proc.stdout.splitlines()}
    if {"user.name", "user.email"} <= keys:
        return {}
    return {key: os.environ.get(key) or value for key, value in git.IDENTITY.items()}


def merge(
    repo: Path,
    source: str,
    *,
    into: str,
    strategy: Strategy | str = Strategy.MERGE,
    message: str | None = None,
    dry_run: bool = False,
    attempts: int = 3,
) -> MergeResult:
    """Merge commit ``source`` (a branch, a ref, a snapshot commit) into branch ``into``.

    Raises :class:`MergeConflict` (with the paths) or :class:`MergeRefused` (with the reason);
    in both cases nothing changed. ``dry_run`` runs every check, conflicts and refusals
    included, and moves nothing."""
    try:
        strategy = Strategy(strategy)
    except ValueError:
        raise MergeRefused(
            f"unknown strategy {strategy!r} (choose from {', '.join(s.value for s in Strategy)})"
        ) from None
    src = resolve_commit(repo, source)
    env = commit_identity(repo)
    env["GIT_REFLOG_ACTION"] = f"jarvis merge {source}"
    for attempt in range(1, attempts + 1):
        try:
            branch = resolve_branch(repo, into)
        except NotABranch as exc:
            raise MergeRefused(str(exc)) from None
        checkout = _checkout(repo, branch)
        plan = _plan(repo, branch, src, strategy)
        if plan.outcome is Outcome.ALREADY_MERGED:
            return MergeResult(
                plan.outcome, branch.name, branch.tip, branch.tip, (), checkout, dry_run, attempts=attempt
            )
        files, added = _changes(repo, branch.tip, plan.tree)
        if checkout is not None:
            _check_clean(checkout, branch, added)
        if dry_run:
            new = src if plan.outcome is Outcome.FAST_FORWARD else None
            return MergeResult(
                plan.outcome,
                branch.name,
                branch.tip,
                new,
                files,
                checkout,
                True,
                skipped=plan.skipped,
                attempts=attempt,
            )
        new, made = _commit(repo, branch, src, source, plan, message, env)
        if _move(repo, branch, new, checkout, env):
            return MergeResult(
                plan.outcome, branch.name, branch.tip, new, files, checkout, False, made, plan.skipped, attempt
            )
    raise MergeRefused(f"{into} kept moving while merging ({attempts} attempts): nothing changed, try again")


def _checkout(repo: Path, branch: Branch) -> Path | None:
    busy = busy_reason(repo, branch.ref)
    if busy:
        raise MergeRefused(busy)
    return checkout_of(repo, branch.ref)


def _plan(repo: Path, branch: Branch, src: str, strategy: Strategy) -> _Plan:
    if is_ancestor(repo, src, branch.tip):
        return _Plan(Outcome.ALREADY_MERGED, branch.tree)
    if strategy in (Strategy.MERGE, Strategy.REBASE) and is_ancestor(repo, branch.tip, src):
        return _Plan(Outcome.FAST_FORWARD, git.run(repo, "rev-parse", f"{src}^{{tree}}"))
    if strategy is Strategy.REBASE:
        return _replay(repo, branch, src)
    merged = merge_tree(repo, branch.tip, src)
    if not merged.clean:
        raise MergeConflict(into=branch.name, strategy=strategy, paths=merged.conflicts)
    if merged.tree == branch.tree:  # the tip already has every change: no empty commit
        return _Plan(Outcome.ALREADY_MERGED, branch.tree)
    return _Plan(Outcome.SQUASH if strategy is Strategy.SQUASH else Outcome.MERGE_COMMIT, merged.tree)


def _replay(repo: Path, branch: Branch, src: str) -> _Plan:
    """Cherry-pick, in order, the commits ``git rebase`` would: not merges; skipping those
    whose patch the tip already has (``--cherry-mark`` marks them "=") and those that become
    empty."""
    out = git.run(
        repo,
        "log",
        "-z",
        "--reverse",
        "--no-merges",
        "--cherry-mark",
        "--right-only",
        "--date=raw",
        "--format=%m%x1f%H%x1f%P%x1f%an%x1f%ae%x1f%ad%x1f%s%x1f%B",
        f"{branch.tip}...{src}",
        "--",
        strip=False,
    )
    tree = branch.tree
    picks: list[tuple[_Pick, str]] = []
    skipped: list[str] = []
    for record in filter(None, out.split("\0")):
        mark, sha, parents, author, email, date, subject, body = record.split("\x1f", 7)
        if mark == "=":
            skipped.append(sha)
            continue
        if not parents:
            raise MergeRefused(f"cannot rebase {sha[:12]} ({subject}): it is a root commit")
        pick = _Pick(sha, parents.split()[0], author, email, date, subject, body)
        # The result so far, re-parented onto the pick's parent: merge-tree then merges
        # (parent -> result) with (parent -> pick), which is what cherry-pick does.
        base = git.run(repo, "commit-tree", tree, "-p", pick.parent, "-m", "jarvis: rebase step", env=git.IDENTITY)
        merged = merge_tree(repo, base, sha)
        if not merged.clean:
            raise MergeConflict(
                into=branch.name, strategy=Strategy.REBASE, paths=merged.conflicts, commit=sha, subject=subject
            )
        if merged.tree == tree:
            skipped.append(sha)
            continue
        picks.append((pick, merged.tree))
        tree = merged.tree
    if not picks:
        return _Plan(Outcome.ALREADY_MERGED, branch.tree, skipped=tuple(skipped))
    return _Plan(Outcome.REBASE, tree, tuple(picks), tuple(skipped))


def _changes(repo: Path, tip: str, tree: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paths that differ between the tip and the result, and those the result adds."""
    out = git.run(repo, "diff-tree", "-r", "-z", "--no-renames", "--name-status", tip, tree, strip=False)
    tokens = [t for t in out.split("\0") if t]
    files, added = [], []
    for status, path in zip(tokens[::2], tokens[1::2], strict=False):
        files.append(path)
        if status == "A":
            added.append(path)
    return tuple(sorted(files)), tuple(added)


def _check_clean(checkout: Path, branch: Branch, added: tuple[str, ...]) -> None:
    """Refuse unless the checkout where the branch is checked out is safe to fast-forward.

    Tracked changes (staged or not) refuse. Untracked files refuse only where the merge adds
    a file at the same path; elsewhere they stay as they are. Ignored files in the way refuse
    too: ``git merge`` would overwrite them silently (a ``.env`` is ignored and precious)."""
    if not checkout.is_dir():
        raise MergeRefused(
            f"{branch.name} is checked out in {checkout}, which no longer exists (run git worktree prune)"
        )
    # GIT_OPTIONAL_LOCKS=0: a check must not rewrite the user's index (git status refreshes it).
    dirty = git.run(checkout, "status", "--porcelain", "-z", "--untracked-files=no", env={"GIT_OPTIONAL_LOCKS": "0"})
    if dirty:
        paths = [entry[3:] for entry in dirty.split("\0") if len(entry) > 3 and entry[2] == " "]
        raise MergeRefused(
            f"{branch.name} is checked out in {checkout} with uncommitted changes "
            f"({', '.join(paths[:5]) or 'staged'}); commit or stash them first"
        )
    in_way = [p for p in added if os.path.lexists(checkout / p) and not (checkout / p).is_dir()]
    if in_way:
        raise MergeRefused(
            f"files not in {branch.name} in {checkout} would be overwritten by the merge: "
            f"{', '.join(in_way[:5])}; move them away first"
        )


def _commit(
    repo: Path, branch: Branch, src: str, label: str, plan: _Plan, message: str | None, env: dict[str, str]
) -> tuple[str, tuple[str, ...]]:
    """Create the commits the plan needs (unreferenced until the branch moves)."""
    if plan.outcome is Outcome.FAST_FORWARD:
        return src, ()
    if plan.outcome is Outcome.REBASE:
        made: list[str] = []
        parent = branch.tip
        for pick, tree in plan.picks:
            author = {"GIT_AUTHOR_NAME": pick.author, "GIT_AUTHOR_EMAIL": pick.email, "GIT_AUTHOR_DATE": pick.date}
            parent = git.run(
                repo, "commit-tree", tree, "-p", parent, "-F", "-", env={**env, **author}, input=pick.message
            )
            made.append(parent)
        return parent, tuple(made)
    if plan.outcome is Outcome.SQUASH:
        if message is None:
            subjects = git.run(repo, "log", "--reverse", "--format=* %s", f"{branch.tip}..{src}", "--")
            message = f"Squash {label} into {branch.name}\n\n{subjects}\n"
        parents = ["-p", branch.tip]
    else:
        message = message if message is not None else f"Merge {label} into {branch.name}\n"
        parents = ["-p", branch.tip, "-p", src]
    new = git.run(repo, "commit-tree", plan.tree, *parents, "-F", "-", env=env, input=message)
    return new, (new,)


def _move(repo: Path, branch: Branch, new: str, checkout: Path | None, env: dict[str, str]) -> bool:
    """Move the branch from ``branch.tip`` to ``new`` by compare-and-swap. False when the
    branch moved meanwhile (nothing changed: the caller recomputes)."""
    if checkout is None:
        proc = git.probe(repo, "update-ref", "-m", env["GIT_REFLOG_ACTION"], branch.ref, new, branch.tip, env=env)
    else:
        head = git.probe(checkout, "symbolic-ref", "-q", "HEAD").stdout.strip()
        if head != branch.ref:  # switched away since we looked: look again
            return False
        proc = git.probe(checkout, "merge", "--ff-only", "--no-autostash", "--quiet", "--no-edit", new, env=env)
    if proc.returncode == 0:
        return True
    now = git.probe(repo, "rev-parse", "--verify", "--quiet", branch.ref).stdout.strip()
    if now != branch.tip:
        return False
    where = f"in {checkout}" if checkout else f"on {branch.ref}"
    raise MergeRefused(f"git refused to move {branch.name} {where}: {proc.stderr.strip() or proc.stdout.strip()}")


__all__ = ["MergeConflict", "MergeRefused", "MergeResult", "Outcome", "Strategy", "commit_identity", "merge"]
