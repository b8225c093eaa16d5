"""Typed configuration: ``config.toml`` read with tomllib into frozen dataclasses.

Every mistake becomes one :class:`ConfigError` naming the file, line and column (where
they exist) and quoting the offending line, so the CLI can print it and exit 2 before
anything is started.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import git

PRIORITIES = ("critical", "high", "medium", "low")
FIRE_REASONS = ("derailed", "obstinate", "dumb", "unresponsive", "corrupted")
# Reasons the engine itself records when a policy stops an agent (issue 4).
AUTO_FIRE_REASONS = ("timeout", "runaway", "pressure", "stalled")

PLACEHOLDERS = (
    "prompt",
    "prompt_file",
    "worktree",
    "branch",
    "id",
    "task_id",
    "retry_context",
    "python",
)
_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A configuration problem, located in its file where possible."""

    def __init__(
        self,
        message: str,
        path: Path | None = None,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.source_line = source_line
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if self.line is not None:
                where += f", line {self.line}"
                if self.column is not None:
                    where += f", column {self.column}"
            where += ": "
        text = f"config error: {where}{self.message}"
        if self.source_line is not None and self.line is not None:
            gutter = f"{self.line:>5} | "
            text += f"\n{gutter}{self.source_line}"
            if self.column is not None:
                text += "\n" + " " * (len(gutter) - 2) + "| " + " " * (self.column - 1) + "^"
        return text


@dataclass(frozen=True)
class Profile:
    """One kind of worker: how to start it and how to supervise it."""

    name: str
    command: tuple[str, ...]
    waiting_patterns: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    model: str = ""
    role: str = "developer"
    cost_weight: float = 1.0
    max_concurrent: int = 0  # 0: only max_agents limits this profile
    waiting_after: float = 120.0  # seconds of silence that count as "waiting"; 0 disables
    # Supervision policies (issue 4). 0 disables a limit.
    max_attempts: int = 1
    backoff: float = 10.0
    backoff_max: float = 600.0
    min_uptime: float = 10.0
    max_runtime: float = 0.0
    stall_timeout: float = 0.0
    fire_stalled: bool = False
    max_rss_mb: float = 0.0
    max_cpu_percent: float = 0.0
    runaway_grace: float = 30.0

    def compiled_waiting_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in self.waiting_patterns]


@dataclass(frozen=True)
class SupervisorConfig:
    repo: Path
    base: str = "HEAD"
    state_dir: Path = Path(".")
    tmux_socket: str = "jarvis"
    max_agents: int = 5
    default_agent: str = ""
    kill_grace: float = 5.0


@dataclass(frozen=True)
class ResourcesConfig:
    cpu_safe: float = 60.0
    cpu_danger: float = 80.0
    ram_safe: float = 70.0
    ram_danger: float = 85.0
    warning_interval: float = 30.0
    window: float = 10.0  # seconds of readings averaged before a zone decision
    emergency_ram: float = 0.0  # 0: off


@dataclass(frozen=True)
class HooksConfig:
    on_status_change: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: Path
    supervisor: SupervisorConfig
    resources: ResourcesConfig
    hooks: HooksConfig
    profiles: dict[str, Profile]

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
            raise ConfigError(
                f"unknown agent profile {name!r} (configured: {known})", self.path
            ) from None

    @property
    def default_profile(self) -> str:
        if self.supervisor.default_agent:
            return self.supervisor.default_agent
        return next(iter(self.profiles))


# --------------------------------------------------------------------------- schema

_NUM = (int, float)
_SUPERVISOR_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "repo": (str, "a path"),
    "base": (str, "a branch or commit"),
    "state_dir": (str, "a path"),
    "tmux_socket": (str, "a socket name"),
    "max_agents": (int, "an integer"),
    "default_agent": (str, "a profile name"),
    "kill_grace": (_NUM, "a number of seconds"),
}
_RESOURCES_KEYS = {
    name: (_NUM, "a number")
    for name in (
        "cpu_safe",
        "cpu_danger",
        "ram_safe",
        "ram_danger",
        "warning_interval",
        "window",
        "emergency_ram",
    )
}
_PROFILE_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "command": (list, "a list of strings"),
    "waiting_patterns": (list, "a list of regular expressions"),
    "env": (dict, "a table of strings"),
    "model": (str, "a string"),
    "role": (str, "a string"),
    "cost_weight": (_NUM, "a number"),
    "max_concurrent": (int, "an integer"),
    "waiting_after": (_NUM, "a number of seconds"),
    "max_attempts": (int, "an integer"),
    "backoff": (_NUM, "a number of seconds"),
    "backoff_max": (_NUM, "a number of seconds"),
    "min_uptime": (_NUM, "a number of seconds"),
    "max_runtime": (_NUM, "a number of seconds"),
    "stall_timeout": (_NUM, "a number of seconds"),
    "fire_stalled": (bool, "true or false"),
    "max_rss_mb": (_NUM, "a number"),
    "max_cpu_percent": (_NUM, "a number"),
    "runaway_grace": (_NUM, "a number of seconds"),
}
_HOOKS_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "on_status_change": (list, "a list of strings (argv)"),
}
_TOP_KEYS = ("supervisor", "resources", "hooks", "agents")


# --------------------------------------------------------------------------- locating


class _Locator:
    """Finds the line and column of a key path in TOML source (best effort, no parser)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^(\s*)((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.index: list[tuple[tuple[str, ...], int, int]] = []
        table: tuple[str, ...] = ()
        for number, line in enumerate(self.lines, start=1):
            header = self._HEADER.match(line)
            if header:
                table = self._split(header.group(1))
                self.index.append((table, number, line.index("[") + 1))
                continue
            key = self._KEY.match(line)
            if key:
                self.index.append((table + self._split(key.group(2)), number, len(key.group(1)) + 1))

    @staticmethod
    def _split(dotted: str) -> tuple[str, ...]:
        parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", dotted)
        return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)

    def find(self, path: tuple[str, ...]) -> tuple[int, int, str] | tuple[None, None, None]:
        for length in range(len(path), 0, -1):
            want = path[:length]
            for key_path, line, col in self.index:
                if key_path == want:
                    return line, col, self.lines[line - 1]
        return None, None, None


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
            "no such file (create one with 'jarvis init', or pass --config / set JARVIS_CONFIG)",
            cfg_path,
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


class _Builder:
    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self.locator = _Locator(text)

    def error(self, message: str, key_path: tuple[str, ...]) -> ConfigError:
        line, col, source = self.locator.find(key_path)
        return ConfigError(message, self.path, line, col, source)

    def check_table(
        self,
        table: Any,
        key_path: tuple[str, ...],
        schema: dict[str, tuple[type | tuple[type, ...], str]],
    ) -> dict[str, Any]:
        name = ".".join(key_path)
        if not isinstance(table, dict):
            raise self.error(f"[{name}] must be a table", key_path)
        for key, value in table.items():
            if key not in schema:
                hint = difflib.get_close_matches(key, list(schema), n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                known = ", ".join(schema)
                raise self.error(
                    f"unknown key {key!r} in [{name}]{suggestion}; known keys: {known}",
                    key_path + (key,),
                )
            expected, description = schema[key]
            ok = isinstance(value, expected)
            if expected in (int, _NUM) and isinstance(value, bool):
                ok = False
            if not ok:
                raise self.error(
                    f"{name}.{key} must be {description}, not {type(value).__name__} {value!r}",
                    key_path + (key,),
                )
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise self.error(f"{name}.{key} must not be negative", key_path + (key,))
        return table

    def build(self, data: dict[str, Any], *, check_repo: bool) -> Config:
        for key in data:
            if key not in _TOP_KEYS:
                hint = difflib.get_close_matches(key, _TOP_KEYS, n=1)
                suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
                raise self.error(
                    f"unknown table {key!r}{suggestion}; known: {', '.join(_TOP_KEYS)}", (key,)
                )
        base_dir = self.path.parent
        sup_raw = self.check_table(data.get("supervisor", {}), ("supervisor",), _SUPERVISOR_KEYS)
        res_raw = self.check_table(data.get("resources", {}), ("resources",), _RESOURCES_KEYS)
        hooks_raw = self.check_table(data.get("hooks", {}), ("hooks",), _HOOKS_KEYS)

        profiles = self.build_profiles(data.get("agents"))

        socket = sup_raw.get("tmux_socket", "jarvis")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", socket) or socket == "default":
            raise self.error(
                "supervisor.tmux_socket must be a private socket name of letters, digits, '_', '.', '-' "
                "(and not 'default')",
                ("supervisor", "tmux_socket"),
            )
        if sup_raw.get("max_agents", 5) < 1:
            raise self.error("supervisor.max_agents must be at least 1", ("supervisor", "max_agents"))
        default_agent = sup_raw.get("default_agent", "")
        if default_agent and default_agent not in profiles:
            raise self.error(
                f"supervisor.default_agent {default_agent!r} is not a profile under [agents]"
                f" (configured: {', '.join(profiles)})",
                ("supervisor", "default_agent"),
            )
        supervisor = SupervisorConfig(
            repo=(base_dir / sup_raw.get("repo", ".")).resolve(),
            base=sup_raw.get("base", "HEAD"),
            state_dir=(base_dir / sup_raw.get("state_dir", ".")).resolve(),
            tmux_socket=socket,
            max_agents=sup_raw.get("max_agents", 5),
            default_agent=default_agent,
            kill_grace=float(sup_raw.get("kill_grace", 5.0)),
        )
        resources = ResourcesConfig(**{k: float(v) for k, v in res_raw.items()})
        if not resources.cpu_safe <= resources.cpu_danger:
            raise self.error("resources.cpu_safe must not exceed cpu_danger", ("resources", "cpu_safe"))
        if not resources.ram_safe <= resources.ram_danger:
            raise self.error("resources.ram_safe must not exceed ram_danger", ("resources", "ram_safe"))
        hook = hooks_raw.get("on_status_change", [])
        if not all(isinstance(item, str) for item in hook):
            raise self.error("hooks.on_status_change must be a list of strings", ("hooks", "on_status_change"))
        config = Config(
            path=self.path,
            supervisor=supervisor,
            resources=resources,
            hooks=HooksConfig(on_status_change=tuple(hook)),
            profiles=profiles,
        )
        if check_repo:
            self.check_repo(config)
        return config

    def build_profiles(self, agents: Any) -> dict[str, Profile]:
        if agents is None:
            raise ConfigError(
                "no agent profiles: add at least one [agents.NAME] table with a command", self.path
            )
        if not isinstance(agents, dict):
            raise self.error("[agents] must hold tables like [agents.demo]", ("agents",))
        profiles: dict[str, Profile] = {}
        for name, table in agents.items():
            key_path = ("agents", name)
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise self.error(
                    f"profile name {name!r} may only hold letters, digits, '_' and '-'", key_path
                )
            if not isinstance(table, dict):
                raise self.error(f"agents.{name} must be a table", key_path)
            self.check_table(table, key_path, _PROFILE_KEYS)
            if "command" not in table:
                raise self.error(f"[agents.{name}] needs a command (a list of strings)", key_path)
            command = table["command"]
            if not command or not all(isinstance(item, str) for item in command):
                raise self.error(
                    f"agents.{name}.command must be a non-empty list of strings (argv; no shell)",
                    key_path + ("command",),
                )
            for item in command:
                for match in _PLACEHOLDER_RE.finditer(item):
                    placeholder = match.group(1)
                    if placeholder is not None and placeholder not in PLACEHOLDERS:
                        raise self.error(
                            f"unknown placeholder {{{placeholder}}} in agents.{name}.command; "
                            f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                            key_path + ("command",),
                        )
            patterns = table.get("waiting_patterns", [])
            for pattern in patterns:
                if not isinstance(pattern, str):
                    raise self.error(
                        f"agents.{name}.waiting_patterns must hold strings", key_path + ("waiting_patterns",)
                    )
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise self.error(
                        f"agents.{name}.waiting_patterns: bad regular expression {pattern!r}: {exc}",
                        key_path + ("waiting_patterns",),
                    ) from None
            env = table.get("env", {})
            for env_key, env_value in env.items():
                if not isinstance(env_value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env_key):
                    raise self.error(
                        f"agents.{name}.env must map NAME = \"string\" (bad entry {env_key!r})",
                        key_path + ("env",),
                    )
            if table.get("max_attempts", 1) < 1:
                raise self.error(f"agents.{name}.max_attempts must be at least 1", key_path + ("max_attempts",))
            values = {k: v for k, v in table.items() if k not in ("command", "waiting_patterns", "env")}
            for key in ("cost_weight", "waiting_after", "backoff", "backoff_max", "min_uptime",
                        "max_runtime", "stall_timeout", "max_rss_mb", "max_cpu_percent", "runaway_grace"):
                if key in values:
                    values[key] = float(values[key])
            profiles[name] = Profile(
                name=name,
                command=tuple(command),
                waiting_patterns=tuple(patterns),
                env=dict(env),
                **values,
            )
        if not profiles:
            raise self.error("no agent profiles: add at least one [agents.NAME] table", ("agents",))
        return profiles

    def check_repo(self, config: Config) -> None:
        repo = config.supervisor.repo
        key = ("supervisor", "repo")
        if not repo.is_dir():
            raise self.error(f"supervisor.repo {str(repo)!r} is not a directory", key)
        if not git.ok(repo, "rev-parse", "--show-toplevel"):
            raise self.error(f"supervisor.repo {str(repo)!r} is not a git repository", key)
        if not git.ok(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
            raise self.error(
                f"supervisor.repo {str(repo)!r} has no commits yet; agents branch from a commit "
                "(make a first commit)",
                key,
            )
        base = config.supervisor.base
        if not git.ok(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"):
            raise self.error(f"supervisor.base {base!r} is not a branch or commit in {repo}", ("supervisor", "base"))


# --------------------------------------------------------------------------- placeholders


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders in ONE argv item, in a single pass.

    A single pass matters: a prompt that itself contains ``{id}`` must reach the agent
    unchanged, which sequential ``str.replace`` calls would break. ``{{`` and ``}}`` are
    literal braces.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name in values:
            return values[name]
        return token

    return _PLACEHOLDER_RE.sub(replace, template)
