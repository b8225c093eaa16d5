"""``jarvis init``: a commented config and git-ignored runtime folders."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from . import git
from .config import ConfigError


def default_config_text() -> str:
    return resources.files("jarvis_tui").joinpath("default_config.toml").read_text(encoding="utf-8")


def init_config(path: Path, *, force: bool = False, repo: str = ".") -> tuple[Path, list[str]]:
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
    return path, notes


def _toml_str(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def exclude_runtime_dirs(repo: Path, state_dir: Path) -> Path | None:
    """Add the runtime folders to ``.git/info/exclude`` when they live inside the repo."""
    proc = git.probe(repo, "rev-parse", "--show-toplevel", "--git-common-dir")
    if proc.returncode != 0:
        return None
    top, common = proc.stdout.splitlines()[:2]
    top_path = Path(top).resolve()
    common_path = Path(common) if Path(common).is_absolute() else (repo / common)
    try:
        rel = state_dir.resolve().relative_to(top_path)
    except ValueError:
        return None
    exclude = common_path.resolve() / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    existing = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    prefix = "" if str(rel) == "." else f"{rel.as_posix()}/"
    wanted = [f"/{prefix}sessions/", f"/{prefix}worktrees/"]
    missing = [w for w in wanted if w not in existing.splitlines()]
    if missing:
        with exclude.open("a", encoding="utf-8") as fh:
            if existing and not existing.endswith("\n"):
                fh.write("\n")
            fh.write("# jarvis-tui runtime folders\n" + "\n".join(missing) + "\n")
    return exclude
