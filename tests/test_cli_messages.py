"""What the CLI tells its user: one line per id for rm, what was sent to whom, the truth about
preserved work, reports only from the agent's own session, and help with examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import make_repo

from jarvis_tui.engine.models import DONE, WAITING, WORKING


def spawn(env, *args: str) -> str:
    proc = env.cli("spawn", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_rm_tries_every_id_and_says_what_happened_to_each(jarvis_env):
    jarvis_env.write_config(max_agents=1)
    sup = jarvis_env.sup()
    done = spawn(jarvis_env, "Quick #steps=1")
    jarvis_env.wait_status(sup, done, DONE)
    busy = spawn(jarvis_env, "Busy #hang")
    jarvis_env.wait_status(sup, busy, WORKING)
    queued = spawn(jarvis_env, "Later #steps=1")
    assert sup.get(queued).status == "queued"

    proc = jarvis_env.cli("rm", busy, "nothing", queued, done)  # the good one last: it is still tried
    assert proc.returncode == 1  # refused (1) and unknown (3): the general failure
    assert proc.stdout.splitlines() == [f"removed {done}; branch {sup.get(done).branch} kept"]
    refused = proc.stderr.splitlines()
    assert len(refused) == 3
    assert refused[0].startswith(f"refused {busy}: ") and "fire it first" in refused[0]
    assert refused[1].startswith("refused nothing: ") and "no agent" in refused[1]
    assert refused[2].startswith(f"refused {queued}: ") and "never ran" in refused[2]
    assert sup.get(done).removed

    as_json = jarvis_env.cli("rm", "--json", queued[:4], "nothing")
    assert as_json.returncode == 1
    results = json.loads(as_json.stdout)
    assert [(r["id"], r["removed"]) for r in results] == [(queued[:4], False), ("nothing", False)]
    assert [r["exit_code"] for r in results] == [1, 3] and all(r["error"] for r in results)
    only_unknown = jarvis_env.cli("rm", "nothing")
    assert only_unknown.returncode == 3

    # send says what reached whom
    sent = jarvis_env.cli("send", busy, "hello there")
    assert sent.returncode == 0 and sent.stdout.strip() == f'sent "hello there" + Enter to {busy}'

    # a queued agent never started: nothing was preserved and it has no branch; a running one does
    cancelled = jarvis_env.cli("fire", queued, "--reason", "dumb")
    assert cancelled.stdout.strip() == f"fired {queued} (dumb); it never started: nothing to preserve, no branch"
    fired = jarvis_env.cli("fire", busy, "--reason", "dumb")
    branch = sup.get(busy).branch
    assert (
        fired.stdout.strip() == f"fired {busy} (dumb); work preserved at refs/jarvis/fired/{busy}; branch {branch} kept"
    )
    removed = jarvis_env.cli("rm", queued, busy)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.splitlines() == [
        f"removed {queued}; it never started: no branch, no files",
        f"removed {busy}; branch {branch} kept; its files are kept at refs/jarvis/fired/{busy}",
    ]


def test_report_for_another_agent_needs_its_session_or_force(jarvis_env):
    sup = jarvis_env.sup()
    asker = spawn(jarvis_env, "Ask first #steps=0 #ask")
    jarvis_env.wait_status(sup, asker, WAITING)
    outside = jarvis_env.cli("report", "--id", asker, "--status", "done")
    assert outside.returncode == 2 and "outside an agent session" in outside.stderr and "--force" in outside.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.update(JARVIS_CONFIG=str(jarvis_env.config_path), JARVIS_AGENT_ID="ffffff")
    other = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "report", "--id", asker, "--status", "done"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert other.returncode == 2 and "agent ffffff's session" in other.stderr
    assert sup.get(asker).status == WAITING and sup.get(asker).reported_status is None

    # `jarvis show` of an agent with no commits of its own does not pass the base's commit off as one
    shown = jarvis_env.cli("show", asker)
    assert shown.returncode == 0, shown.stderr
    rows = {line.split(None, 1)[0]: line for line in shown.stdout.splitlines() if line.startswith("  ")}
    assert "commits ahead" in shown.stdout and "no commits yet" in rows["last"]

    forced = jarvis_env.cli("report", "--id", asker, "--status", "failed", "--summary", "gave up", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sup.get(asker).reported_status == "failed"
    jarvis_env.cli("rm", asker, check=True)  # ended by its report; rm stops what still runs


@pytest.mark.parametrize(
    "command",
    [
        "init",
        "spawn",
        "ls",
        "show",
        "logs",
        "attach",
        "send",
        "fire",
        "retry",
        "rm",
        "heartbeat",
        "report",
        "doctor",
        "engine",
        "stats",
        "tui",
        "demo",
    ],
)
def test_every_help_has_examples(command):
    proc = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0
    examples = proc.stdout.split("examples:\n", 1)[1]
    assert f"jarvis {command}" in examples or command == "tui"
    if command in ("show", "logs", "attach", "send", "fire", "retry", "rm"):
        assert "any unique prefix" in proc.stdout


def test_help_explains_priority_reasons_and_the_default_profile(jarvis_env):
    spawn_help = jarvis_env.cli("spawn", "--help").stdout
    assert "critical before high before medium before low" in " ".join(spawn_help.split())
    assert "default here: demo" in spawn_help  # read from the config in use
    nowhere = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "--config", "/nonexistent.toml", "spawn", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[supervisor] default_agent, else the first profile" in " ".join(nowhere.stdout.split())
    fire_help = " ".join(jarvis_env.cli("fire", "--help").stdout.split())
    assert "derailed (went off the task)" in fire_help and "unresponsive (stuck, hung or silent)" in fire_help
    report_help = " ".join(jarvis_env.cli("report", "--help").stdout.split())
    assert "--id ID" in report_help and "JARVIS_AGENT_ID" in report_help and "--force" in report_help


def test_init_says_whether_to_commit_the_config_or_keeps_it_out_of_git(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JARVIS_CONFIG"}
    repo = make_repo(tmp_path / "project")
    proc = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "init"], cwd=repo, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert "config.toml is untracked in the repository: commit it" in said and "--exclude-config" in said
    assert "/config.toml" not in (repo / ".git" / "info" / "exclude").read_text().splitlines()

    other = make_repo(tmp_path / "private")
    proc = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "init", "--exclude-config"],
        cwd=other,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "/config.toml" in (other / ".git" / "info" / "exclude").read_text().splitlines()
    status = subprocess.run(["git", "-C", str(other), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""  # nothing of jarvis shows up as untracked
    assert "untracked" not in proc.stdout
