"""The CLI as a user and an orchestrating agent use it: real processes, real tmux, real git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import git, make_repo

from jarvis_tui.engine.models import DONE, FAILED, WAITING, WORKING

LS_FIELDS = {
    "id",
    "task_id",
    "title",
    "agent",
    "priority",
    "status",
    "attempt",
    "branch",
    "worktree",
    "tmux_session",
    "pid",
    "exit_code",
    "started_at",
    "ended_at",
    "last_output_at",
    "fires",
    "queue_reason",
    "status_reason",
    "removed",
}
SHOW_FIELDS = LS_FIELDS | {"prompt", "commits_ahead", "last_commit", "dirty", "attempts", "profile"}

HOSTILE = [
    "it's \"quoted\" and 'single'",
    "$(touch /tmp/jarvis-pwned) and `id` and ${HOME} and $HOME",
    "multi\nline\n\nprompt\n",
    "-rf --help -- starts with a dash",
    "unicode: héllo ✓ 日本語 🚀",
    "ends with a tmux separator ;",
    "back\\slash \\; and {id} {prompt} {{x}}",
    "\ttabs\tand trailing spaces   ",
]


def spawn_json(env, *args: str, input: str | None = None) -> dict:
    proc = env.cli("spawn", "--json", *args, input=input)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("prompt", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_prompts_reach_the_agent_byte_identical(jarvis_env, prompt):
    full = prompt + " #steps=1"
    record = spawn_json(jarvis_env, "--agent", "demo", "--title", prompt, "--", full)
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, record["id"], DONE, FAILED)
    assert agent.status == DONE, agent.status_reason
    # what the demo agent received in argv, as committed by it: exact bytes
    blob = git(jarvis_env.repo, "rev-parse", f"{agent.branch}:demo_prompt.txt")
    received = subprocess.run(
        ["git", "-C", str(jarvis_env.repo), "cat-file", "blob", blob], capture_output=True, check=True
    ).stdout
    assert received == full.encode()
    assert (sup.session_dir(agent.id) / "prompt.txt").read_bytes() == full.encode()
    assert sup.get(agent.id).title == prompt
    assert not Path("/tmp/jarvis-pwned").exists()


def test_prompt_from_stdin_and_file_keeps_every_byte(jarvis_env, tmp_path):
    text = "from stdin: $(id)\n-dash\n #steps=1\n"
    record = spawn_json(jarvis_env, "--agent", "demo", "-", input=text)
    prompt_file = tmp_path / "prompt.md"
    prompt_file.write_text("from file: `id`\n #steps=1\n\n")
    record2 = spawn_json(jarvis_env, "--agent", "demo", "--prompt-file", str(prompt_file))
    sup = jarvis_env.sup()
    assert sup.get(record["id"]).prompt == text
    assert sup.get(record2["id"]).prompt == prompt_file.read_text()
    for rid in (record["id"], record2["id"]):
        jarvis_env.wait_status(sup, rid, DONE, FAILED)


def test_same_title_twice_gets_distinct_branches(jarvis_env):
    a = spawn_json(jarvis_env, "--title", "Fix the bug", "x #steps=1")
    b = spawn_json(jarvis_env, "--title", "Fix the bug", "y #steps=1")
    assert a["branch"] != b["branch"]
    assert a["branch"].startswith("jarvis/fix-the-bug-") and b["branch"].startswith("jarvis/fix-the-bug-")
    sup = jarvis_env.sup()
    for rid in (a["id"], b["id"]):
        jarvis_env.wait_status(sup, rid, DONE, FAILED)


def test_ls_and_show_json_schema(jarvis_env):
    record = spawn_json(jarvis_env, "--priority", "high", "--title", "Schema", "Check the schema #steps=2")
    assert set(record) >= LS_FIELDS
    sup = jarvis_env.sup()
    jarvis_env.wait_status(sup, record["id"], DONE)
    listing = json.loads(jarvis_env.cli("ls", "--json").stdout)
    assert [r["id"] for r in listing] == [record["id"]]
    row = listing[0]
    assert set(row) >= LS_FIELDS
    assert row["status"] == "done" and row["exit_code"] == 0 and row["priority"] == "high"
    assert row["attempt"] == 1 and row["fires"] == [] and row["task_id"] == record["id"]
    assert row["tmux_session"] == f"jarvis-{record['id']}" and row["started_at"].endswith("Z")
    shown = json.loads(jarvis_env.cli("show", "--json", record["id"][:4]).stdout)
    assert set(shown) >= SHOW_FIELDS
    assert shown["prompt"] == "Check the schema #steps=2"
    assert shown["commits_ahead"] >= 2 and shown["dirty"] is False
    assert shown["last_commit"]["subject"] == "demo: final notes"
    assert shown["last_commit"]["at"].endswith("Z") and "T" in shown["last_commit"]["at"]  # ISO, like every timestamp
    human = jarvis_env.cli("ls")
    assert record["id"] in human.stdout and "done" in human.stdout and "Schema" in human.stdout
    # --json before the command too (like --config); a command with no JSON output says so
    assert json.loads(jarvis_env.cli("--json", "ls").stdout) == listing
    assert json.loads(jarvis_env.cli("--json", "show", record["id"]).stdout)["id"] == record["id"]
    for argv in (["--json", "logs", record["id"]], ["--json"]):
        proc = jarvis_env.cli(*argv)
        assert (
            proc.returncode == 2 and "has no JSON output" in proc.stderr and json.loads(proc.stdout)["exit_code"] == 2
        )


def test_unknown_and_ambiguous_ids_exit_3_with_a_clear_message(jarvis_env):
    proc = jarvis_env.cli("show", "abcdef")
    assert proc.returncode == 3
    assert "no agent with id 'abcdef'" in proc.stderr
    proc = jarvis_env.cli("fire", "abcdef", "--reason", "dumb", "--json")
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["exit_code"] == 3
    proc = jarvis_env.cli("fire", "abcdef", "--reason", "lazy")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    for argv in (("fire", "abcdef", "--reason", "lazy", "--json"), ("--json", "ls", "--status", "bogus")):
        proc = jarvis_env.cli(*argv)  # a usage error is a failure like any other: JSON on stdout too
        assert proc.returncode == 2 and "invalid choice" in proc.stderr
        assert json.loads(proc.stdout)["exit_code"] == 2 and "invalid choice" in json.loads(proc.stdout)["error"]
    proc = jarvis_env.cli("spawn", "--agent", "nope", "hello")
    assert proc.returncode == 2 and "unknown agent profile 'nope'" in proc.stderr
    proc = jarvis_env.cli("spawn")
    assert proc.returncode == 2 and "no prompt" in proc.stderr
    # --dry-run refuses what the spawn refuses, with the same exit code and message
    for bad, says in (
        (("--ticket", "a..b"), "git refuses '..' in a branch name"),
        (("--ticket", "PROJ 7"), "it has ' '"),
        (("--base", "nosuch"), "base 'nosuch' is not a branch or commit"),
        (("--scope", "/"), "--scope '/'"),
    ):
        for dry in ((), ("--dry-run",)):
            proc = jarvis_env.cli("spawn", *bad, *dry, "hello")
            assert proc.returncode == 2 and says in proc.stderr, (bad, dry, proc.stderr)
    proc = jarvis_env.cli("spawn", "--ticket", "a..b", "--dry-run")  # without a prompt too
    assert proc.returncode == 2 and "'..'" in proc.stderr
    assert jarvis_env.cli("spawn", "--ticket", "PROJ-7", "--dry-run", check=True).stdout.startswith("would spawn")
    assert jarvis_env.tmux.sessions() == []


def test_malformed_config_exits_2_and_starts_nothing(jarvis_env):
    text = jarvis_env.config_path.read_text()
    jarvis_env.config_path.write_text(text.replace("max_agents = 5", "max_agents = 5,"))
    proc = jarvis_env.cli("spawn", "--agent", "demo", "hello")
    assert proc.returncode == 2
    assert str(jarvis_env.config_path) in proc.stderr
    assert "line 6, column" in proc.stderr and "max_agents = 5," in proc.stderr
    assert not (jarvis_env.state_dir / "sessions").exists()
    assert jarvis_env.tmux.sessions() == []
    jarvis_env.config_path.write_text(text.replace('repo = "repo"', 'repo = "nowhere"'))
    proc = jarvis_env.cli("ls")
    assert proc.returncode == 2 and "line 2" in proc.stderr and "not a directory" in proc.stderr


def test_logs_send_fire_retry_rm_through_the_cli(jarvis_env):
    record = spawn_json(jarvis_env, "Ask me #steps=1 #ask #dirty")
    rid = record["id"]
    sup = jarvis_env.sup()
    jarvis_env.wait_status(sup, rid, WAITING)
    logs = jarvis_env.cli("logs", rid, "-n", "2")
    assert "Apply the changes? [y/N]" in logs.stdout and "\x1b" not in logs.stdout
    assert len(logs.stdout.strip().splitlines()) <= 3
    screen = jarvis_env.cli("logs", rid, "--screen")
    assert screen.returncode == 0 and screen.stdout.rstrip().endswith("Apply the changes? [y/N]")
    assert jarvis_env.cli("send", rid, "no way").returncode == 0
    follow = jarvis_env.cli("logs", rid, "--follow", timeout=30)
    assert "answer: 'no way'" in follow.stdout and "finished with exit code 0" in follow.stdout
    # an ended agent has nothing to stop: fire says so (exit 1) and changes nothing
    refused = jarvis_env.cli("fire", rid, "--reason", "dumb")
    assert refused.returncode == 1 and "is done: nothing is running to stop" in refused.stderr
    assert sup.registry.get(rid).status == DONE
    # retry starts from the files it left (its uncommitted work is kept on the way)
    retried = json.loads(jarvis_env.cli("retry", rid, "--json").stdout)
    assert retried["attempt"] == 2 and retried["task_id"] == rid
    new = retried["id"]
    assert (Path(retried["worktree"]) / "untracked_work.txt").exists()
    assert git(jarvis_env.repo, "show", f"refs/jarvis/kept/{rid}:untracked_work.txt") == "work in progress"
    jarvis_env.wait_status(sup, new, WAITING)
    assert jarvis_env.cli("rm", new).returncode == 1  # still running: refuse
    # fire records why; its uncommitted work is preserved
    fired = jarvis_env.cli("fire", new, "--reason", "dumb", "--note", "answered badly", "--json")
    data = json.loads(fired.stdout)
    assert data["status"] == "fired"
    assert data["fires"][0]["reason"] == "dumb" and data["fires"][0]["note"] == "answered badly"
    assert git(jarvis_env.repo, "show", f"refs/jarvis/fired/{new}:untracked_work.txt") == "work in progress"
    history = jarvis_env.cli("show", new, check=True).stdout  # the task's attempts and how each ended
    assert f"#1 {rid} done, exit 0" in history and f"▶ #2 {new} fired" in history
    gone = jarvis_env.cli("logs", new, "--screen")
    assert gone.returncode == 1 and "no live pane" in gone.stderr
    removed = jarvis_env.cli("rm", new)
    assert removed.returncode == 0 and "branch" in removed.stdout
    assert json.loads(jarvis_env.cli("ls", "--json").stdout) == []
    everything = json.loads(jarvis_env.cli("ls", "--all", "--json").stdout)
    assert {r["id"]: r["removed"] for r in everything} == {rid: False, new: True}
    assert "(removed)" in jarvis_env.cli("ls", "--all").stdout


def test_agents_report_and_heartbeat_about_themselves(jarvis_env):
    record = spawn_json(jarvis_env, "Report back #steps=1 #report")
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, record["id"], DONE, FAILED)
    assert agent.summary == "demo finished 1 steps"
    assert [e["kind"] for e in sup.registry.events(attempt_id=agent.id)].count("report") == 1
    hang = spawn_json(jarvis_env, "Hang #hang")
    env_proc = jarvis_env.cli("heartbeat", "--note", "still here", "--id", hang["id"])
    assert env_proc.returncode == 0
    assert sup.get(hang["id"]).heartbeat_note == "still here"
    outside = jarvis_env.cli("heartbeat")
    assert outside.returncode == 2 and "JARVIS_AGENT_ID" in outside.stderr
    jarvis_env.cli("fire", hang["id"], "--reason", "dumb", check=True)


def test_two_cli_processes_at_once_lose_nothing(jarvis_env):
    jarvis_env.write_config(max_agents=20)
    results: dict[str, list] = {"a": [], "b": []}

    def worker(name: str) -> None:
        for i in range(4):
            results[name].append(jarvis_env.cli("spawn", "--title", f"{name}{i}", f"task {name}{i} #steps=1"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    procs = results["a"] + results["b"]
    assert all(p.returncode == 0 for p in procs), [p.stderr for p in procs if p.returncode]
    ids = {p.stdout.strip() for p in procs}
    assert len(ids) == 8
    sup = jarvis_env.sup()
    for rid in ids:
        jarvis_env.wait_status(sup, rid, DONE, FAILED)
    listing = json.loads(jarvis_env.cli("ls", "--json").stdout)
    assert {r["id"] for r in listing} == ids
    spawned = [e for e in sup.registry.events() if e["kind"] == "spawned"]
    assert len(spawned) == 8
    # every status change recorded exactly once even with several reconcilers
    done_events = [e for e in sup.registry.events() if e["kind"] == "status" and e["data"]["new"] == "done"]
    assert sorted(e["attempt_id"] for e in done_events) == sorted(ids)


def test_attach_print_and_doctor(jarvis_env):
    record = spawn_json(jarvis_env, "Hang #hang")
    printed = jarvis_env.cli("attach", record["id"], "--print")
    assert printed.returncode == 0
    assert f"-L {jarvis_env.socket}" in printed.stdout and f"=jarvis-{record['id']}" in printed.stdout
    no_tty = jarvis_env.cli("attach", record["id"])
    assert no_tty.returncode == 2 and "terminal" in no_tty.stderr
    doctor = jarvis_env.cli("doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["tmux"]["level"] == "ok" and checks["registry"]["level"] == "ok"
    # a stray session on our socket is reported as an orphan
    jarvis_env.tmux.run("new-session", "-d", "-s", "jarvis-ffffff", "sleep", "30")
    checks = {c["name"]: c for c in json.loads(jarvis_env.cli("doctor", "--json").stdout)}
    assert "jarvis-ffffff" in checks["orphan sessions"]["detail"]
    jarvis_env.cli("fire", record["id"], "--reason", "dumb", check=True)


def test_init_writes_a_config_and_ignores_runtime_folders(tmp_path):
    repo = make_repo(tmp_path / "project")
    proc = subprocess.run([sys.executable, "-m", "jarvis_tui", "init"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    config = repo / "config.toml"
    assert config.exists() and "[agents.demo]" in config.read_text()
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert "/sessions/" in exclude and "/worktrees/" in exclude
    again = subprocess.run([sys.executable, "-m", "jarvis_tui", "init"], cwd=repo, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    ls = subprocess.run(
        [sys.executable, "-m", "jarvis_tui", "ls", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "JARVIS_CONFIG"},
    )
    assert ls.returncode == 0 and json.loads(ls.stdout) == []


def test_user_text_is_never_rich_markup(jarvis_env):
    title = "Fix [/x] parser [y/N] [bold]"
    record = spawn_json(jarvis_env, "--title", title, "x #hang")
    jarvis_env.wait_status(jarvis_env.sup(), record["id"], WORKING)
    listing = jarvis_env.cli("ls")
    assert listing.returncode == 0, listing.stderr
    assert "Fix [/x] parser [y/N] [bold]" in listing.stdout
    fired = jarvis_env.cli("fire", record["id"], "--reason", "dumb", "--note", "said [y/N] then [/x]")
    assert fired.returncode == 0, fired.stderr  # fired while it hangs
    shown = jarvis_env.cli("show", record["id"])
    assert shown.returncode == 0, shown.stderr
    assert title in shown.stdout and "said [y/N] then [/x]" in shown.stdout


def test_rm_refuses_an_agent_that_never_ran_and_fire_cancels_it(jarvis_env):
    jarvis_env.write_config(max_agents=1)
    busy = spawn_json(jarvis_env, "busy #hang")
    queued = spawn_json(jarvis_env, "later #steps=1")
    assert queued["status"] == "queued" and queued["queue_reason"] == "max_agents 1 reached"
    refused = jarvis_env.cli("rm", queued["id"])
    assert refused.returncode == 1 and "never ran" in refused.stderr and "cancel it with fire" in refused.stderr
    cancelled = json.loads(
        jarvis_env.cli("fire", queued["id"], "--reason", "dumb", "--note", "not needed", "--json").stdout
    )
    assert cancelled["status"] == "fired" and cancelled["fires"][0]["note"] == "not needed"
    assert jarvis_env.cli("rm", queued["id"]).returncode == 0
    jarvis_env.cli("fire", busy["id"], "--reason", "dumb", check=True)


@pytest.mark.parametrize(
    "argv",
    [
        ["spawn", "--agent", "demo", "--json", "--", "-x $(rm -rf /)"],
        ["--config", "spawn", "ls", "--all"],  # a config file named like a command
        ["--config=c.toml", "fire", "abc", "-r", "dumb", "-m", "why"],
        ["wait", "abc", "--until", "done"],
        ["engine", "--once"],
        [],
    ],
)
def test_a_call_builds_only_its_own_command_and_parses_the_same(argv):
    """Building every command's options takes ~5 ms of each CLI call; a call builds its own
    command's alone and must parse exactly as the whole parser does."""
    from jarvis_tui.cli.parser import build_parser, command_word

    def parsed(parser):
        values = vars(parser.parse_args(argv))
        func = values.pop("func", None)
        return values, getattr(func, "__name__", None)

    only = command_word(argv)
    lean = build_parser(None, only)
    commands = lean._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert list(commands) == ([only] if only else [])
    assert parsed(lean) == parsed(build_parser())


def test_an_unknown_command_still_lists_every_command(jarvis_env):
    proc = jarvis_env.cli("sapwn", "hello")
    assert proc.returncode == 2
    assert "invalid choice: 'sapwn'" in proc.stderr and "'spawn'" in proc.stderr and "'merge'" in proc.stderr
