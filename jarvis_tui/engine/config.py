"""Typed configuration: ``config.toml`` read with tomllib into the frozen dataclasses of
:mod:`.config_schema`, checked against their declarations.

Every mistake becomes one :class:`ConfigError` (:mod:`.config_errors`) naming the file, line
and column (where they exist) and quoting the offending line, so the CLI can print it and exit
2 before anything is started. Numbers are bounded and must be finite (``inf`` and ``nan`` are valid TOML).
A ``base`` that does not resolve is not a load error: only what needs it (spawn, review,
merge) refuses, so running agents can still be listed and fired (:meth:`Config.base_problem`).
The ``{name}`` placeholders a profile may use are in :mod:`.placeholders`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import git
from .config_errors import ConfigError, Locator
from .config_schema import (
    ROUTING_PREFERENCES,
    SECTIONS,
    TOP_KEYS,
    TRANSCRIPT_FORMATS,
    BudgetsConfig,
    HooksConfig,
    Profile,
    ResourcesConfig,
    ReviewConfig,
    RoutingConfig,
    SupervisorConfig,
)
from .placeholders import PLACEHOLDER_RE, PLACEHOLDERS, TEMPLATE_PLACEHOLDERS


@dataclass(frozen=True)
class Config:
    path: Path
    supervisor: SupervisorConfig
    resources: ResourcesConfig
    hooks: HooksConfig
    profiles: dict[str, Profile]
    review: ReviewConfig = field(default_factory=ReviewConfig)
    budgets: BudgetsConfig = field(default_factory=BudgetsConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)

    @property
    def state_dir(self) -> Path:
        return self.supervisor.state_dir

    @property
    def sessions_dir(self) -> Path:
        return self.supervisor.state_dir / "sessions"

    @property
    def worktrees_dir(self) -> Path:
        return self.supervisor.state_dir / "worktrees"

    @property
    def registry_path(self) -> Path:
        return self.sessions_dir / "registry.db"

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(f"unknown agent profile {name!r} (configured: {known})", self.path) from None

    @property
    def default_profile(self) -> str:
        return self.supervisor.default_agent or next(iter(self.profiles))

    def check_command(self, profile: str) -> tuple[str, ...]:
        """The check argv for an agent of ``profile`` (its own, else ``[review] check``)."""
        own = self.profiles[profile].check if profile in self.profiles else ()
        return own or self.review.check

    def base_commit(self) -> str | None:
        """The commit ``[supervisor] base`` names right now, or None (a deleted branch...)."""
        base = self.supervisor.base
        proc = git.probe(self.supervisor.repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
        commit = proc.stdout.strip()
        return commit if proc.returncode == 0 and commit else None

    def base_problem(self) -> str | None:
        """Why ``[supervisor] base`` cannot be used right now (deleted branch...), or None."""
        if self.base_commit() is not None:
            return None
        return f"supervisor.base {self.supervisor.base!r} is not a branch or commit in {self.supervisor.repo} ({self.path})"


# --------------------------------------------------------------------------- loading


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config PATH``, else ``$JARVIS_CONFIG``, else ``./config.toml``."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    env = os.environ.get("JARVIS_CONFIG")
    if env:
        return Path(env).expanduser().absolute()
    return (Path.cwd() / "config.toml").absolute()


def load_config(path: str | os.PathLike[str] | None = None, *, check_repo: bool = True) -> Config:
    cfg_path = find_config_path(path)
    try:
        raw_bytes = cfg_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "no such file (create one with 'jarvis init', or pass --config / set JARVIS_CONFIG)", cfg_path
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", cfg_path) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", cfg_path) from None
    return parse_config(text, cfg_path, check_repo=check_repo)


def parse_config(text: str, path: Path, *, check_repo: bool = True) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = col = None
        if match:
            line, col = int(match.group(1)), int(match.group(2))
            message = message[: match.start()].strip()
        lines = text.splitlines()
        source = lines[line - 1] if line and 0 < line <= len(lines) else None
        raise ConfigError(f"invalid TOML: {message}", path, line, col, source) from None
    return _Builder(text, path).build(data, check_repo=check_repo)


def _describe(annotation: Any) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string", Path: "a path"}.get(
        annotation, "a list of strings" if typing.get_origin(annotation) is tuple else "a table of strings"
    )


class _Builder:
    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self.locator = Locator(text)

    def error(self, message: str, key_path: tuple[str, ...]) -> ConfigError:
        line, col, source = self.locator.find(key_path)
        return ConfigError(message, self.path, line, col, source)

    def section(self, raw: Any, key_path: tuple[str, ...], cls: type) -> dict[str, Any]:
        """Check one table against its dataclass; returns constructor arguments."""
        name = ".".join(key_path)
        if not isinstance(raw, dict):
            raise self.error(f"[{name}] must be a table", key_path)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            where = key_path + (key,)
            if key not in fields:
                import difflib  # late: error paths only

                hint = difflib.get_close_matches(key, list(fields), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise self.error(f"unknown key {key!r} in [{name}]{suggestion}; known keys: {', '.join(fields)}", where)
            values[key] = self.value(value, hints[key], fields[key].metadata, f"{name}.{key}", where)
        return values

    def value(self, value: Any, annotation: Any, meta: Any, label: str, where: tuple[str, ...]) -> Any:
        origin = typing.get_origin(annotation)
        wrong = self.error(f"{label} must be {_describe(annotation)}, not {type(value).__name__} {value!r}", where)
        if annotation is bool:
            if not isinstance(value, bool):
                raise wrong
            return value
        if annotation in (int, float):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (annotation is int and not isinstance(value, int))
            ):
                raise wrong
            if not math.isfinite(value):
                raise self.error(f"{label} must be a finite number, not {value!r}", where)
            low, high = meta["min"], meta["max"]
            if low is not None and value < low:
                raise self.error(f"{label} must be at least {low:g}, not {value!r}", where)
            if high is not None and value > high:
                raise self.error(f"{label} must be at most {high:g}, not {value!r}", where)
            return annotation(value)
        if annotation in (str, Path):
            if not isinstance(value, str):
                raise wrong
            return value
        if origin is tuple:
            if not isinstance(value, list):
                raise wrong
            for number, item in enumerate(value, 1):
                if not isinstance(item, str):
                    raise self.error(
                        f"{label} must be a list of strings; item {number} is {type(item).__name__} {item!r}", where
                    )
            return tuple(value)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise wrong
        return dict(value)

    def build(self, data: dict[str, Any], *, check_repo: bool) -> Config:
        for key in data:
            if key not in TOP_KEYS:
                import difflib  # late: error paths only

                hint = difflib.get_close_matches(key, TOP_KEYS, n=1)
                suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
                raise self.error(f"unknown table {key!r}{suggestion}; known: {', '.join(TOP_KEYS)}", (key,))
        raw = {name: self.section(data.get(name, {}), (name,), cls) for name, cls in SECTIONS.items()}
        profiles = self.build_profiles(data.get("agents"))
        sup = raw["supervisor"]
        socket = sup.get("tmux_socket", "jarvis")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", socket) or socket == "default":
            raise self.error(
                "supervisor.tmux_socket must be a private socket name of letters, digits, "
                "'_', '.', '-' (and not 'default')",
                ("supervisor", "tmux_socket"),
            )
        default_agent = sup.get("default_agent", "")
        if default_agent and default_agent not in profiles:
            raise self.error(
                f"supervisor.default_agent {default_agent!r} is not a profile under [agents]"
                f" (configured: {', '.join(profiles)})",
                ("supervisor", "default_agent"),
            )
        base_dir = self.path.parent
        sup["repo"] = (base_dir / sup.get("repo", ".")).resolve()
        sup["state_dir"] = (base_dir / sup.get("state_dir", ".")).resolve()
        resources = ResourcesConfig(**raw["resources"])
        for zone in ("cpu", "ram"):
            if getattr(resources, f"{zone}_safe") > getattr(resources, f"{zone}_danger"):
                raise self.error(f"resources.{zone}_safe must not exceed {zone}_danger", ("resources", f"{zone}_safe"))
        routing = RoutingConfig(**raw["routing"])
        if routing.prefer not in ROUTING_PREFERENCES:
            raise self.error(
                f"routing.prefer must be one of {', '.join(ROUTING_PREFERENCES)}, not {routing.prefer!r}",
                ("routing", "prefer"),
            )
        for name in routing.profiles:
            if name not in profiles:
                raise self.error(
                    f"routing.profiles names {name!r}, which is not a profile under [agents]"
                    f" (configured: {', '.join(profiles)})",
                    ("routing", "profiles"),
                )
        if "auto" in profiles:
            raise self.error(
                "a profile may not be called 'auto': spawn --agent auto picks one by routing", ("agents", "auto")
            )
        config = Config(
            path=self.path,
            supervisor=SupervisorConfig(**sup),
            resources=resources,
            hooks=HooksConfig(**raw["hooks"]),
            profiles=profiles,
            review=ReviewConfig(**raw["review"]),
            budgets=BudgetsConfig(**raw["budgets"]),
            routing=routing,
        )
        if check_repo:
            self.check_repo(config)
        return config

    def build_profiles(self, agents: Any) -> dict[str, Profile]:
        if agents is None:
            raise ConfigError("no agent profiles: add at least one [agents.NAME] table with a command", self.path)
        if not isinstance(agents, dict):
            raise self.error("[agents] must hold tables like [agents.demo]", ("agents",))
        profiles: dict[str, Profile] = {}
        for name, table in agents.items():
            key_path = ("agents", name)
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise self.error(f"profile name {name!r} may only hold letters, digits, '_' and '-'", key_path)
            values = self.section(table, key_path, Profile)
            if "command" not in values:
                raise self.error(f"[agents.{name}] needs a command (a list of strings)", key_path)
            self.check_profile(name, values)
            profiles[name] = Profile(name=name, **values)
        if not profiles:
            raise self.error("no agent profiles: add at least one [agents.NAME] table", ("agents",))
        return profiles

    def check_profile(self, name: str, values: dict[str, Any]) -> None:
        where = ("agents", name)
        if not values["command"]:
            raise self.error(
                f"agents.{name}.command must be a non-empty list of strings (argv; no shell)", where + ("command",)
            )
        for key in ("command", "env", "prompt_template"):
            items = values.get(key, ())
            known = TEMPLATE_PLACEHOLDERS if key == "prompt_template" else PLACEHOLDERS
            for item in items.values() if isinstance(items, dict) else [items] if isinstance(items, str) else items:
                for match in PLACEHOLDER_RE.finditer(item):
                    placeholder = match.group(1)
                    if placeholder is not None and placeholder not in known:
                        raise self.error(
                            f"unknown placeholder {{{placeholder}}} in agents.{name}.{key}; known: "
                            f"{', '.join('{' + p + '}' for p in known)}",
                            where + (key,),
                        )
        for key in ("waiting_patterns", "busy_patterns"):
            for pattern in values.get(key, ()):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise self.error(
                        f"agents.{name}.{key}: bad regular expression {pattern!r}: {exc}", where + (key,)
                    ) from None
        transcripts = values.get("transcripts", "")
        if transcripts and transcripts not in TRANSCRIPT_FORMATS:
            raise self.error(
                f"agents.{name}.transcripts must be one of {', '.join(TRANSCRIPT_FORMATS)} (or empty), "
                f"not {transcripts!r}",
                where + ("transcripts",),
            )
        for env_key in values.get("env", {}):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env_key):
                raise self.error(f'agents.{name}.env must map NAME = "string" (bad name {env_key!r})', where + ("env",))

    def check_repo(self, config: Config) -> None:
        repo = config.supervisor.repo
        where = ("supervisor", "repo")
        if not repo.is_dir():
            raise self.error(f"supervisor.repo {str(repo)!r} is not a directory", where)
        if git.ok(repo, "rev-parse", "--show-toplevel", "HEAD^{commit}"):
            return  # the usual case: one git call (every CLI command loads the config)
        if not git.ok(repo, "rev-parse", "--show-toplevel"):
            raise self.error(f"supervisor.repo {str(repo)!r} is not a git repository", where)
        if not git.ok(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
            raise self.error(
                f"supervisor.repo {str(repo)!r} has no commits yet; agents branch from a commit (make a first commit)",
                where,
            )


__all__ = [
    "BudgetsConfig",
    "Config",
    "ConfigError",
    "HooksConfig",
    "Profile",
    "ResourcesConfig",
    "ReviewConfig",
    "RoutingConfig",
    "SupervisorConfig",
    "find_config_path",
    "load_config",
    "parse_config",
]
