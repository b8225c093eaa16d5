"""Ready profiles: their patterns against real screens of each tool, what init and profiles
write and say, the prompt template (the task's prompt byte for byte inside it), and refusing
a profile whose program is not installed.

The screens are tests/fixtures/screens/<tool>/{asking,busy}.txt; where each came from is in
tests/fixtures/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import make_repo

from jarvis_tui.engine import presets
from jarvis_tui.engine.config import Profile, parse_config
from jarvis_tui.engine.init import config_text
from jarvis_tui.engine.lifecycle import Event
from jarvis_tui.engine.models import WAITING, WORKING, Agent
from jarvis_tui.engine.observe import Observation
from jarvis_tui.engine.reconcile import busy_line, classify, waiting_line
from jarvis_tui.engine.tmux import Pane

SCREENS = Path(__file__).parent / "fixtures" / "screens"
TOOLS = tuple(presets.PRESETS)


def profile_of(name: str) -> Profile:
    config = parse_config(config_text(agents=[name]), Path("/tmp/config.toml"), check_repo=False)
    return config.profiles[name]


def screen(tool: str, kind: str) -> str:
    return (SCREENS / tool / f"{kind}.txt").read_text(encoding="utf-8")


def test_every_tool_has_a_preset_and_both_screens():
    assert set(TOOLS) == {"claude", "codex", "gemini", "aider", "opencode"}
    for tool in TOOLS:
        assert screen(tool, "asking").strip() and screen(tool, "busy").strip()


@pytest.mark.parametrize("tool", TOOLS)
def test_waiting_patterns_match_the_question_and_not_the_busy_screen(tool):
    profile = profile_of(tool)
    asking = waiting_line(profile, screen(tool, "asking"))
    assert asking is not None, f"{tool}: no waiting pattern matches its asking screen"
    assert waiting_line(profile, screen(tool, "busy")) is None, f"{tool}: a waiting pattern matches a busy screen"


@pytest.mark.parametrize("tool", TOOLS)
def test_busy_patterns_match_the_busy_screen_and_not_the_question(tool):
    profile = profile_of(tool)
    assert busy_line(profile, screen(tool, "busy")) is not None, f"{tool}: no busy pattern matches its busy screen"
    assert busy_line(profile, screen(tool, "asking")) is None, f"{tool}: a busy pattern matches its asking screen"


@pytest.mark.parametrize("tool", TOOLS)
def test_classify_on_each_screen(tool):
    """Asking -> waiting (a question); busy -> working even after a long silence."""
    profile = profile_of(tool)
    agent = Agent(
        id="a1b2c3",
        task_id="a1b2c3",
        title="t",
        prompt="p",
        agent=tool,
        priority="medium",
        status=WORKING,
        attempt=1,
        created_at=0.0,
        started_at=0.0,
    )
    pane = Pane(session="jarvis-a1b2c3", pane_id="%1", pid=1, dead=False, dead_status=None)
    now = 10_000.0  # silent for hours: only the screen says it is busy
    asking = classify(agent, Observation(pane, screen(tool, "asking"), None, "", None, 1.0), profile, now)
    assert asking.event is Event.ASKS and asking.fields["waiting_kind"] == "question"
    assert asking.fields["status_source"] == "screen" and asking.reason.startswith("asks: ")
    waiting = Agent(**{**agent.__dict__, "status": WAITING, "waiting_kind": "silence"})
    busy = classify(waiting, Observation(pane, screen(tool, "busy"), None, "", None, 1.0), profile, now)
    assert busy.event is Event.RESUMED and busy.fields["status_source"] == "screen"


def test_every_preset_loads_and_names_only_known_placeholders():
    config = parse_config(config_text(), Path("/tmp/config.toml"), check_repo=False)
    assert list(config.profiles) == ["demo", *TOOLS]
    for name in TOOLS:
        profile = config.profiles[name]
        assert profile.command[0] == name  # the program is the tool itself, never a shell
        assert "{prompt}" in profile.command or "{prompt_file}" in profile.command
        assert "{task_prompt}" in profile.prompt_template and profile.role and profile.model
        assert profile.cost_weight > 0
    weights = sorted((config.profiles[n].cost_weight for n in TOOLS), reverse=True)
    assert weights[0] / weights[-1] >= 10  # the orchestrator's table weighs them 10x ... 1x


def test_init_agents_writes_exactly_those_presets_with_tomli_w(tmp_path):
    repo = make_repo(tmp_path / "project")
    proc = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "init", "--agents", "claude,codex", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = (repo / "config.toml").read_text()
    data = tomllib.loads(text)
    assert set(data["agents"]) == {"claude", "codex"}
    assert data["agents"]["claude"] == json.loads(json.dumps(presets.PRESETS["claude"]))
    assert "# the git repository agents work on" in text  # the commented template stays for humans
    notes = json.loads(proc.stdout)["notes"]
    assert any("not installed here" in n and "claude" in n for n in notes)  # nor is it in this sandbox
    bad = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "init", "--agents", "claude,cursor", "x.toml"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "unknown agent preset cursor" in bad.stderr
    assert not (repo / "x.toml").exists()


def test_init_escapes_a_repo_path_through_tomli_w(tmp_path):
    text = config_text(repo='../a "quoted" \\ path')
    assert tomllib.loads(text)["supervisor"]["repo"] == '../a "quoted" \\ path'


def test_profiles_lists_presets_and_whether_each_is_installed(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "codex"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("JARVIS_CONFIG", None)

    def jarvis(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jarvis_tui", *argv], cwd=tmp_path, capture_output=True, text=True, env=env
        )

    proc = jarvis("profiles", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert list(rows) == list(presets.ALL)
    assert rows["codex"]["installed"] is True and rows["claude"]["installed"] is False
    assert rows["claude"]["hooks"] == "claude hooks" and rows["codex"]["hooks"] == "codex notify"
    assert rows["claude"]["transcripts"] == "claude" and rows["opencode"]["transcripts"] == ""
    table = jarvis("profiles", "--toml", "gemini")
    assert tomllib.loads(table.stdout)["agents"]["gemini"]["command"][0] == "gemini"
    as_json = jarvis("--json", "profiles", "--toml", "gemini")
    assert json.loads(as_json.stdout) == {"profile": "gemini", "toml": table.stdout}  # --json means JSON


def test_doctor_lists_profiles_that_are_not_installed(jarvis_env):
    jarvis_env.write_config(extra='[agents.ghost]\ncommand = ["no-such-agent-binary", "{prompt}"]\n')
    checks = {c["name"]: c for c in json.loads(jarvis_env.cli("doctor", "--json").stdout)}
    assert checks["profile ghost"]["level"] == "warn"
    assert "'no-such-agent-binary' is not installed (not on PATH)" in checks["profile ghost"]["detail"]
    assert "profile demo" not in checks


# --------------------------------------------------------------------------- the prompt template

TEMPLATE = '''prompt_template = """
Agent {id} on {branch} in {worktree} (kind {kind}).
{task_prompt}
-- commit, then: jarvis report --status done"""
'''


def test_the_task_prompt_reaches_the_agent_byte_for_byte_inside_the_template(jarvis_env):
    jarvis_env.write_config(
        extra=TEMPLATE.replace(
            "prompt_template",
            '[agents.wrapped]\ncommand = ["python", "-m", "jarvis_tui.demo_agent", "{prompt}"]\nprompt_template',
        )
    )
    sup = jarvis_env.sup()
    task = "Fix {id} and {{braces}} — ünïcode\n  indented line\n#steps=1"
    agent = sup.spawn(task, agent="wrapped", kind="refactor")
    done = jarvis_env.wait_status(sup, agent.id, "done")
    received = subprocess.run(
        ["git", "-C", str(jarvis_env.repo), "show", f"{done.branch}:demo_prompt.txt"], capture_output=True, check=True
    ).stdout.decode()
    expected = (
        f"Agent {agent.id} on {done.branch} in {sup.paths.worktree(agent.id)} (kind refactor).\n"
        f"{task}\n-- commit, then: jarvis report --status done"
    )
    assert received == expected
    assert task in received  # the task's own braces were not substituted
    assert sup.paths.prompt(agent.id).read_text() == expected  # {prompt_file} holds what it was told
    assert sup.paths.task_prompt(agent.id).read_text() == task  # the task itself, for doctor --adopt
    assert sup.registry.get(agent.id).prompt == task  # the record keeps the task, not the wrapping


def test_the_presets_template_tells_the_worker_how_to_work():
    rendered = profile_of("claude").prompt_template
    for words in ("{task_prompt}", "{worktree}", "{branch}", "Commit", "jarvis report --status done", "jarvis note"):
        assert words in rendered
