"""The agents' own signals: the Claude settings file jarvis writes for each agent, and that its
hook commands (and Codex's notify program) reach the right agent from any environment.

Claude Code and Codex are not installed here: the hooks are run the way the tools run them
(Claude: the command string through ``sh -c`` with the hook's JSON on stdin; Codex: the argv
with the turn's JSON appended), with the inputs from tests/fixtures/transcripts/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from jarvis_tui.engine import agent_hooks
from jarvis_tui.engine.models import WAITING, WORKING

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"

HOOKED = """
[agents.hooked]
command = ["python", "-m", "jarvis_tui.demo_agent", "{prompt}"]
env = { CLAUDE_SETTINGS = "{claude_settings}", CODEX_NOTIFY = "{codex_notify}" }
waiting_patterns = ["\\\\[y/N\\\\]"]
"""
# A bare environment: what a hook may get, without JARVIS_AGENT_ID, JARVIS_CONFIG or jarvis on PATH.
BARE = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


def hooked_agent(jarvis_env):  # type: ignore[no-untyped-def]
    jarvis_env.write_config(extra=HOOKED)
    sup = jarvis_env.sup()
    agent = sup.spawn("wait quietly #hang #silent", agent="hooked")
    return sup, jarvis_env.wait_status(sup, agent.id, WORKING)


def run_claude_hook(settings: dict, event: str, matcher: str | None, payload: dict) -> subprocess.CompletedProcess:
    [group] = [g for g in settings["hooks"][event] if g.get("matcher") == matcher]
    [hook] = group["hooks"]
    assert hook["type"] == "command" and hook["timeout"] > 0
    return subprocess.run(
        ["sh", "-c", hook["command"]],
        input=json.dumps(payload),
        text=True,
        env=BARE,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_each_claude_agent_gets_its_own_settings_file_of_hooks_only(jarvis_env):
    sup, agent = hooked_agent(jarvis_env)
    path = sup.paths.session_dir(agent.id) / "claude-settings.json"
    spec = json.loads(sup.paths.spec(agent.id).read_text())
    assert spec["env"]["CLAUDE_SETTINGS"] == str(path)  # what --settings {claude_settings} passes
    settings = json.loads(path.read_text())
    assert set(settings) == {"hooks"}  # nothing of the user's settings is overridden
    hooks = settings["hooks"]
    assert set(hooks) == {"SessionStart", "UserPromptSubmit", "Notification", "Stop"}
    assert {g.get("matcher") for g in hooks["Notification"]} == {
        "permission_prompt",
        "idle_prompt",
        "elicitation_dialog",
    }
    for groups in hooks.values():
        for group in groups:
            command = group["hooks"][0]["command"]
            assert f"--id {agent.id}" in command and str(jarvis_env.config_path) in command
            assert command.endswith("|| true")  # a Stop hook exiting 2 would keep Claude from stopping
    states = {(e, m): s for e, m, s in agent_hooks.CLAUDE_HOOKS}
    assert states[("Notification", "permission_prompt")] == "waiting"
    assert states[("Stop", None)] == "idle" and states[("UserPromptSubmit", None)] == "working"
    sup.fire(agent.id, "dumb")


def test_claude_hooks_report_the_agents_state_from_a_bare_environment(jarvis_env):
    sup, agent = hooked_agent(jarvis_env)
    settings = json.loads((sup.paths.session_dir(agent.id) / "claude-settings.json").read_text())
    notification = json.loads((FIXTURES / "claude-hook-stdin-notification.json").read_text())

    proc = run_claude_hook(settings, "Notification", "permission_prompt", notification)
    assert proc.returncode == 0
    asking = sup.registry.get(agent.id)
    assert asking.status == WAITING and asking.waiting_kind == "question"
    assert asking.status_source == "report"
    assert asking.status_reason == "reported waiting: Claude needs your permission to use Bash"

    run_claude_hook(settings, "UserPromptSubmit", None, {"hook_event_name": "UserPromptSubmit", "prompt": "go on"})
    working = sup.registry.get(agent.id)
    assert (working.status, working.status_source) == (WORKING, "report")

    run_claude_hook(settings, "Stop", None, {"hook_event_name": "Stop", "stop_hook_active": False})
    idle = sup.registry.get(agent.id)
    assert (idle.status, idle.waiting_kind, idle.status_reason) == (WAITING, "idle", "reported idle: finished its turn")
    events = sup.registry.events(attempt_id=agent.id, kinds=("state_report",))
    assert [(e["data"]["state"], e["data"]["via"]) for e in events] == [
        ("waiting", "claude"),
        ("working", "claude"),
        ("idle", "claude"),
    ]
    ls = json.loads(jarvis_env.cli("ls", "--json").stdout)
    assert [(a["status"], a["status_source"]) for a in ls] == [("waiting", "report")]
    sup.fire(agent.id, "dumb")


def test_a_failing_hook_never_fails_claude(jarvis_env):
    sup, agent = hooked_agent(jarvis_env)
    settings = json.loads((sup.paths.session_dir(agent.id) / "claude-settings.json").read_text())
    jarvis_env.config_path.write_text("this is [not toml")  # jarvis cannot even read its config
    proc = run_claude_hook(settings, "Stop", None, {"hook_event_name": "Stop"})
    assert proc.returncode == 0  # exit 2 from a Stop hook would block Claude; || true keeps it 0
    assert "invalid TOML" in (sup.paths.session_dir(agent.id) / "hooks.log").read_text()
    jarvis_env.write_config(extra=HOOKED)
    sup.fire(agent.id, "dumb")


def test_codex_notify_is_a_toml_argv_that_reports_the_turn_done(jarvis_env):
    sup, agent = hooked_agent(jarvis_env)
    spec = json.loads(sup.paths.spec(agent.id).read_text())
    setting = spec["env"]["CODEX_NOTIFY"]  # what `codex -c {codex_notify}` gets
    argv = tomllib.loads(setting)["notify"]
    assert argv[-6:] == ["--id", agent.id, "--state", "idle", "--via", "codex"]
    payload = (FIXTURES / "codex-notify-payload.json").read_text()
    proc = subprocess.run([*argv, payload], env=BARE, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    idle = sup.registry.get(agent.id)
    assert (idle.status, idle.waiting_kind, idle.status_source) == (WAITING, "idle", "report")
    assert idle.status_reason == "reported idle: turn complete: Rename complete and verified `cargo build` succeeds."
    sup.send(agent.id, "carry on")  # input answers the report: the screen decides again
    resumed = sup.registry.get(agent.id)
    assert resumed.status == WORKING and resumed.reported_state is None
    sup.fire(agent.id, "dumb")


def test_report_state_from_inside_the_agent(jarvis_env):
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("quiet #hang #silent", agent="demo").id, WORKING)
    env = {"JARVIS_AGENT_ID": agent.id}
    proc = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "report", "--state", "waiting", "--reason", "which database?", "--json"],
        env={**jarvis_env.cli_env(), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["status"], data["waiting_kind"], data["status_source"]) == ("waiting", "question", "report")
    assert data["status_reason"] == "reported waiting: which database?"
    bad = jarvis_env.cli("report", "--id", agent.id, "--state", "sleeping")
    assert bad.returncode == 2
    sup.fire(agent.id, "dumb")
