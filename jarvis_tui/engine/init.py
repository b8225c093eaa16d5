"""``jarvis init``: a commented config (with ready agent profiles) and git-ignored runtime folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from . import git, presets
from .config import ConfigError
from .config_text import set_value, tables

DEMO_HEADER = "[agents.demo]"


def default_config_text() -> str:
    return resources.files("jarvis_tui").joinpath("default_config.toml").read_text(encoding="utf-8")


def config_text(*, repo: str = ".", agents: Sequence[str] = presets.ALL) -> str:
    """The commented default config, ``repo`` set, with the ready profiles of ``agents`` (presets
    rendered by tomli-w; the demo profile keeps its commented table)."""
    text = set_value(default_config_text(), "supervisor", "repo", repo)
    if "demo" not in agents:
        text = text[: text.index(DEMO_HEADER)].rstrip() + "\n"
    ready = {name: presets.preset(name) for name in agents if name != "demo"}
    if ready:
        text = text.rstrip() + "\n\n# Ready profiles (jarvis profiles): their patterns' sources are in the README.\n"
        text += tables("agents", ready)
    return text


def init_config(
    path: Path,
    *,
    force: bool = False,
    repo: str = ".",
    exclude_config: bool = False,
    agents: Sequence[str] = presets.ALL,
) -> tuple[Path, list[str]]:
    """Write the config; returns its path and notes for the user (what was excluded from git,
    whether the config itself is left untracked in the repository, which agents are missing)."""
    path = path.expanduser().absolute()
    if path.is_dir():
        path = path / "config.toml"
    if path.exists() and not force:
        raise ConfigError("already exists (use --force to overwrite)", path)
    repo_path = (Path.cwd() / repo).resolve()
    rel_repo = os.path.relpath(repo_path, path.parent)
    text = config_text(repo=rel_repo, agents=agents)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    notes = []
    missing = [row["program"] for row in presets.describe() if row["name"] in agents and not row["installed"]]
    if missing:
        notes.append(
            f"not installed here (not on PATH): {', '.join(missing)}; their profiles are written, "
            "spawning them fails until they are"
        )
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
            notes.append(
                f"{name} is untracked in the repository: commit it to share this setup "
                f"(git add {name}), or keep it out of git by adding /{name} to .git/info/exclude "
                "(jarvis init --exclude-config does that)"
            )
    return path, notes


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
