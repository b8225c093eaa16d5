"""``jarvis init``: a commented config and git-ignored runtime folders."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from . import git
from .config import ConfigError


def default_config_text() -> str:
    return resources.files("jarvis_tui").joinpath("default_config.toml").read_text(encoding="utf-8")


def init_config(path: Path, *, force: bool = False, repo: str = ".",
                exclude_config: bool = False) -> tuple[Path, list[str]]:
    """Write the config; returns its path and notes for the user (what was excluded from git,
    and whether the config itself is left untracked in the repository)."""
    path = path.expanduser().absolute()
    if path.is_dir():
        path = path / "config.toml"
    if path.exists() and not force:
        raise ConfigError("already exists (use --force to overwrite)", path)
    repo_path = (Path.cwd() / repo).resolve()
    rel_repo = os.path.relpath(repo_path, path.parent)
    text = default_config_text().replace('repo = "."  ', f'repo = "{_toml_str(rel_repo)}"', 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    notes = []
    for folder in ("sessions", "worktrees"):
        (path.parent / folder).mkdir(exist_ok=True)
    excluded = exclude_runtime_dirs(repo_path, path.parent)
    if excluded:
        notes.append(f"added sessions/ and worktrees/ to {excluded}")
    inside = _inside_repo(repo_path, path)
    if inside is not None:
        name = inside.as_posix()
        if exclude_config:
            notes.append(f"added /{name} to {exclude_paths(repo_path, [f'/{name}'])}: the config stays out of git")
        elif not _tracked(repo_path, path):
            notes.append(f"{name} is untracked in the repository: commit it to share this setup "
                         f"(git add {name}), or keep it out of git by adding /{name} to .git/info/exclude "
                         "(jarvis init --exclude-config does that)")
    return path, notes


def _toml_str(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _git_dirs(repo: Path) -> tuple[Path, Path] | None:
    """(top level, common git dir) of ``repo``, or None outside a repository."""
    proc = git.probe(repo, "rev-parse", "--show-toplevel", "--git-common-dir")
    if proc.returncode != 0:
        return None
    top, common = proc.stdout.splitlines()[:2]
    common_path = Path(common) if Path(common).is_absolute() else (repo / common)
    return Path(top).resolve(), common_path.resolve()


def _inside_repo(repo: Path, path: Path) -> Path | None:
    dirs = _git_dirs(repo)
    if dirs is None:
        return None
    try:
        return path.resolve().relative_to(dirs[0])
    except ValueError:
        return None


def _tracked(repo: Path, path: Path) -> bool:
    return git.probe(repo, "ls-files", "--error-unmatch", str(path)).returncode == 0


def exclude_paths(repo: Path, wanted: list[str]) -> Path | None:
    """Append patterns (rooted, e.g. ``/sessions/``) to ``.git/info/exclude`` once each."""
    dirs = _git_dirs(repo)
    if dirs is None:
        return None
    exclude = dirs[1] / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    existing = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    missing = [w for w in wanted if w not in existing.splitlines()]
    if missing:
        with exclude.open("a", encoding="utf-8") as fh:
            if existing and not existing.endswith("\n"):
                fh.write("\n")
            fh.write("# jarvis-tui\n" + "\n".join(missing) + "\n")
    return exclude


def exclude_runtime_dirs(repo: Path, state_dir: Path) -> Path | None:
    """Add the runtime folders to ``.git/info/exclude`` when they live inside the repo."""
    rel = _inside_repo(repo, state_dir)
    if rel is None:
        return None
    prefix = "" if str(rel) == "." else f"{rel.as_posix()}/"
    return exclude_paths(repo, [f"/{prefix}sessions/", f"/{prefix}worktrees/"])
