"""Config: typed loading, and every mistake located by file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_repo

from jarvis_tui.engine.config import ConfigError, load_config, parse_config
from jarvis_tui.engine.init import config_text, default_config_text
from jarvis_tui.engine.placeholders import substitute

GOOD = """\
[supervisor]
repo = "repo"
max_agents = 2

[agents.demo]
command = ["python", "-m", "jarvis_tui.demo_agent", "{prompt}"]
"""


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo")
    return tmp_path


def load(tmp: Path, text: str):
    path = tmp / "config.toml"
    path.write_text(text)
    return load_config(path)


def error(tmp: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp, text)
    return info.value


def test_good_config_is_typed_and_paths_are_relative_to_the_file(repo_dir):
    config = load(repo_dir, GOOD)
    assert config.supervisor.repo == (repo_dir / "repo").resolve()
    assert config.supervisor.state_dir == repo_dir.resolve()
    assert config.supervisor.max_agents == 2
    assert config.supervisor.tmux_socket == "jarvis"
    demo = config.profiles["demo"]
    assert demo.command[-1] == "{prompt}" and demo.max_attempts == 1 and demo.cost_weight == 1.0
    assert config.resources.cpu_safe == 60 and config.resources.ram_danger == 85
    assert config.default_profile == "demo"


def test_shipped_config_toml_is_what_init_writes_and_loads(tmp_path):
    """config.toml is generated: `jarvis init` output (the commented template + every preset)."""
    top = Path(__file__).resolve().parents[1] / "config.toml"
    assert top.read_text() == config_text(repo=".")
    assert top.read_text().startswith(default_config_text().split("[agents.demo]")[0])
    config = parse_config(top.read_text(), top, check_repo=False)
    assert config.profiles["demo"].waiting_patterns == ("\\[y/N\\]",)
    assert set(config.profiles) == {"demo", "claude", "codex", "gemini", "aider", "opencode"}


def test_toml_syntax_error_names_line_and_column(repo_dir):
    err = error(repo_dir, GOOD.replace("max_agents = 2", "max_agents = = 2"))
    assert (err.path, err.line, err.column) == (repo_dir / "config.toml", 3, 14)
    text = err.render()
    assert "invalid TOML" in text and "line 3, column 14" in text
    assert "max_agents = = 2" in text and "^" in text


def test_unknown_key_is_located_with_a_suggestion(repo_dir):
    err = error(repo_dir, GOOD.replace("max_agents = 2", "max_agnets = 2"))
    assert (err.line, err.column) == (3, 1)
    assert "unknown key 'max_agnets' in [supervisor] (did you mean 'max_agents'?)" in err.message


def test_unknown_key_in_profile_and_unknown_table(repo_dir):
    err = error(repo_dir, GOOD + "colour = 'red'\n")
    assert err.line == 7 and "[agents.demo]" in err.message
    err = error(repo_dir, GOOD + "[supervisr]\n")
    assert err.line == 7 and "did you mean [supervisor]" in err.message


def test_wrong_types_are_located(repo_dir):
    err = error(repo_dir, GOOD.replace("max_agents = 2", 'max_agents = "two"'))
    assert err.line == 3 and "supervisor.max_agents must be an integer, not str 'two'" in err.message
    err = error(repo_dir, GOOD.replace('command = ["python"', 'command = "python" #["python"'))
    assert err.line == 6 and "must be a list of strings" in err.message
    err = error(repo_dir, GOOD.replace('"{prompt}"]', "3]"))
    assert err.line == 6 and "must be a list of strings; item 4 is int 3" in err.message
    err = error(repo_dir, GOOD + "max_attempts = true\n")
    assert err.line == 7 and "integer" in err.message
    err = error(repo_dir, GOOD.replace("max_agents = 2", "max_agents = -1"))
    assert "supervisor.max_agents must be at least 1, not -1" in err.message


@pytest.mark.parametrize(
    "line, message",
    [
        ("kill_grace = inf", "supervisor.kill_grace must be a finite number, not inf"),
        ("kill_grace = nan", "supervisor.kill_grace must be a finite number, not nan"),
        ("kill_grace = -inf", "supervisor.kill_grace must be a finite number"),
        ("kill_grace = 100000", "supervisor.kill_grace must be at most 600, not 100000"),
        ("max_agents = 99999999999999999999", "supervisor.max_agents must be at most 10000"),
        ("max_agents = 2.5", "supervisor.max_agents must be an integer, not float 2.5"),
    ],
)
def test_numbers_are_bounded_and_finite(repo_dir, line, message):
    err = error(repo_dir, GOOD.replace("max_agents = 2", line))
    assert message in err.message
    assert err.line == 3 and err.column == 1 and err.source_line == line


def test_bad_placeholder_regex_and_profile_references(repo_dir):
    err = error(repo_dir, GOOD.replace("{prompt}", "{promt}"))
    assert err.line == 6 and "unknown placeholder {promt}" in err.message
    err = error(repo_dir, GOOD + 'waiting_patterns = ["[unclosed"]\n')
    assert err.line == 7 and "bad regular expression" in err.message
    err = error(repo_dir, GOOD.replace("max_agents = 2", 'default_agent = "claude"'))
    assert "not a profile" in err.message
    err = error(repo_dir, "[supervisor]\nrepo = 'repo'\n")
    assert "no agent profiles" in err.message
    err = error(repo_dir, GOOD.replace("max_agents = 2", 'tmux_socket = "default"'))
    assert "private socket" in err.message


def test_repo_must_be_a_git_repository_with_commits(tmp_path):
    (tmp_path / "plain").mkdir()
    err = error(tmp_path, GOOD.replace('"repo"', '"plain"'))
    assert err.line == 2 and "is not a git repository" in err.message
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "empty")], check=True)
    err = error(tmp_path, GOOD.replace('"repo"', '"empty"'))
    assert "has no commits" in err.message
    err = error(tmp_path, GOOD.replace('"repo"', '"missing"'))
    assert "is not a directory" in err.message


def test_a_missing_base_is_a_problem_only_for_what_needs_it(repo_dir):
    # a base branch deleted after agents started must not stop ls/fire: the config loads...
    path = repo_dir / "config.toml"
    path.write_text(GOOD.replace("max_agents = 2", 'base = "no-such-branch"'))
    config = load_config(path)
    # ...and what needs the base (spawn, review, merge) is told why
    assert "supervisor.base 'no-such-branch' is not a branch or commit" in config.base_problem()
    assert load_config(repo_dir / "config.toml").supervisor.base == "no-such-branch"
    path.write_text(GOOD)
    assert load_config(path).base_problem() is None


def test_missing_file(repo_dir):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(repo_dir / "nope.toml")


def test_config_path_resolution_order(repo_dir, monkeypatch):
    (repo_dir / "config.toml").write_text(GOOD)
    other = repo_dir / "other.toml"
    other.write_text(GOOD.replace("max_agents = 2", "max_agents = 7"))
    monkeypatch.chdir(repo_dir)
    monkeypatch.delenv("JARVIS_CONFIG", raising=False)
    assert load_config().supervisor.max_agents == 2
    monkeypatch.setenv("JARVIS_CONFIG", str(other))
    assert load_config().supervisor.max_agents == 7
    assert load_config(repo_dir / "config.toml").supervisor.max_agents == 2


def test_substitution_is_single_pass_and_literal():
    values = {"prompt": "use {id} and {{x}} $(rm -rf /)", "id": "abc123"}
    assert substitute("{prompt}", values) == "use {id} and {{x}} $(rm -rf /)"
    assert substitute("--id={id}", values) == "--id=abc123"
    assert substitute("{{literal}}", values) == "{literal}"
