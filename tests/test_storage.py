"""Storage faults: a full disk, a read-only folder, a corrupt, deleted or emptied registry.

Each gives a clear message (what, where, what to do) and exit 1, never a traceback, and
never a fresh empty registry that would orphan running agents. The disk and the read-only
folder are real: a size-limited tmpfs, remounted read-only, in a user+mount namespace
(``unshare``), so no root and nothing outside the test folder is touched.
"""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jarvis_tui.engine.models import DONE, FIRED, WORKING
from jarvis_tui.engine.registry import RegistryGone


def in_namespace(jarvis_env, script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) in a new user+mount namespace with ``$STATE`` on a 2 MiB tmpfs."""
    assert shutil.which("unshare"), "unshare (util-linux) is needed for the storage-fault tests"
    jarvis = f"{shlex.quote(sys.executable)} -m jarvis_tui"
    prelude = (
        f'set -u\nSTATE={shlex.quote(str(jarvis_env.state_dir))}\nmkdir -p "$STATE"\n'
        f'mount -t tmpfs -o size=2m tmpfs "$STATE" || exit 99\njarvis() {{ {jarvis} "$@"; }}\n'
        f"JARVIS={shlex.quote(jarvis)}\n"  # `$JARVIS cmd &`: $! is jarvis itself, not a subshell
    )
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", prelude + script],
        env={**jarvis_env.cli_env(), "JARVIS_NO_ENGINE": "1"},
        cwd=jarvis_env.root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode != 99, f"could not mount a tmpfs in a user namespace: {proc.stderr}"
    return proc


def sections(out: str) -> dict[str, str]:
    """``== name`` markers in a script's output -> the text under each."""
    found: dict[str, str] = {}
    name = ""
    for line in out.splitlines():
        if line.startswith("== "):
            name = line[3:]
            found[name] = ""
        elif name:
            found[name] += line + "\n"
    return found


def test_a_full_disk_is_a_clear_error_and_leaves_nothing_half_done(jarvis_env):
    proc = in_namespace(
        jarvis_env,
        """
jarvis ls --json > /dev/null
dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null
echo "== spawn"; jarvis spawn "while the disk is full" 2>&1; echo "rc=$?"
echo "== json"; jarvis spawn --json "again" 2>/dev/null; echo "rc=$?"
rm "$STATE/filler"
echo "== after"; jarvis ls --all --json; echo "rc=$?"
""",
    )
    out = sections(proc.stdout)
    assert "the disk is full" in out["spawn"] and "rc=1" in out["spawn"], proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    error = json.loads(out["json"].rsplit("rc=", 1)[0])
    assert error["exit_code"] == 1 and "disk is full" in error["error"]
    assert out["after"].startswith("[]") and "rc=0" in out["after"]  # nothing half-made


def test_a_read_only_state_folder_is_a_clear_error(jarvis_env):
    proc = in_namespace(
        jarvis_env,
        """
jarvis ls --json > /dev/null
mount -o remount,ro "$STATE" || exit 98
echo "== ls"; jarvis ls 2>&1; echo "rc=$?"
echo "== spawn"; jarvis spawn "nope" 2>&1; echo "rc=$?"
""",
    )
    assert proc.returncode != 98, proc.stderr
    out = sections(proc.stdout)
    for name in ("ls", "spawn"):
        assert "read-only" in out[name] and str(jarvis_env.state_dir) in out[name], proc.stdout
        assert "rc=1" in out[name] and "Traceback" not in out[name]


def test_the_engine_backs_off_while_the_disk_is_full(jarvis_env):
    proc = in_namespace(
        jarvis_env,
        """
jarvis ls --json > /dev/null
$JARVIS engine --interval 0.05 --idle-exit 0 > "$STATE/../engine.out" 2>&1 &
ENGINE=$!
sleep 1
dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null
sleep 4
kill $ENGINE; wait $ENGINE
echo "== engine"; cat "$STATE/../engine.out"
""",
    )
    engine = sections(proc.stdout)["engine"]
    waits = [
        float(line.split("next try in ")[1].split("s")[0]) for line in engine.splitlines() if "next try in" in line
    ]
    # it backs off instead of spinning (a 0.05 s spin would fail ~80 times in 4 s), and says why
    assert 2 <= len(waits) <= 8, engine
    assert all(b > a for a, b in itertools.pairwise(waits)), waits
    assert "disk is full" in engine


def test_garbage_over_the_registry_is_a_clear_error_and_adopt_rebuilds_it(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("keeps running #hang", agent="demo")
    sup.registry.close()
    path = jarvis_env.state_dir / "sessions" / "registry.db"
    for extra in ("registry.db-wal", "registry.db-shm"):
        (path.parent / extra).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database, it is garbage" * 200)
    ls = jarvis_env.cli("ls")
    assert ls.returncode == 1 and "is corrupt" in ls.stderr and "jarvis doctor --adopt" in ls.stderr
    assert "Traceback" not in ls.stderr
    doctor = jarvis_env.cli("doctor", "--adopt", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert "moved the unusable registry aside" in checks["registry rebuilt"]["detail"]
    assert any(f"adopted {agent.id} as working" in line for line in checks["adopt"]["hints"])
    assert list(path.parent.glob("registry.db.bad-*")), "the corrupt file is kept, never deleted"
    again = {a["id"]: a for a in json.loads(jarvis_env.cli("ls", "--json", check=True).stdout)}
    assert again[agent.id]["status"] == WORKING and again[agent.id]["title"] == "keeps running #hang"
    fired = json.loads(jarvis_env.cli("fire", agent.id, "--reason", "dumb", "--json", check=True).stdout)
    assert fired["status"] == FIRED


def test_a_registry_deleted_under_running_agents_is_never_silently_recreated(jarvis_env):
    sup = jarvis_env.sup()
    agents = [sup.spawn(f"runner {i} #hang", agent="demo") for i in range(2)]
    path = jarvis_env.state_dir / "sessions" / "registry.db"
    for name in ("registry.db", "registry.db-wal", "registry.db-shm"):
        (path.parent / name).unlink(missing_ok=True)
    with pytest.raises(RegistryGone, match="was deleted while jarvis ran"):
        sup.reconcile()  # a process that had it open refuses to go on
    ls = jarvis_env.cli("ls")
    assert ls.returncode == 1 and "is missing, but agents' records exist" in ls.stderr
    spawn = jarvis_env.cli("spawn", "--agent", "demo", "would ignore max_agents")
    assert spawn.returncode == 1 and not path.exists()  # no fresh, empty registry
    jarvis_env.cli("doctor", "--adopt", check=True)
    listed = {a["id"]: a for a in json.loads(jarvis_env.cli("ls", "--json", check=True).stdout)}
    assert {a.id for a in agents} <= set(listed)
    assert all(listed[a.id]["status"] == WORKING and listed[a.id]["branch"] == a.branch for a in agents)
    for agent in agents:
        jarvis_env.cli("fire", agent.id, "--reason", "dumb", check=True)


def test_an_emptied_registry_is_refused_too(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("runner #hang", agent="demo")
    sup.registry.close()
    path = jarvis_env.state_dir / "sessions" / "registry.db"
    for name in ("registry.db-wal", "registry.db-shm"):
        (path.parent / name).unlink(missing_ok=True)
    path.write_bytes(b"")
    ls = jarvis_env.cli("ls")
    assert ls.returncode == 1 and "refusing to start" in ls.stderr
    jarvis_env.cli("doctor", "--adopt", check=True)
    jarvis_env.cli("fire", agent.id, "--reason", "dumb", check=True)
    assert Path(path).stat().st_size > 0


def test_adopt_restores_what_a_task_comes_after(jarvis_env):
    sup = jarvis_env.sup()
    first = sup.spawn("first #steps=1", agent="demo")
    jarvis_env.wait_status(sup, first.id, DONE)
    second = jarvis_env.wait_status(sup, sup.spawn("second #hang", agent="demo", after=first.id).id, WORKING)
    assert second.dependencies == [first.task_id]
    sup.registry.close()
    for name in ("registry.db", "registry.db-wal", "registry.db-shm"):
        (jarvis_env.state_dir / "sessions" / name).unlink(missing_ok=True)
    doctor = jarvis_env.cli("doctor", "--adopt", "--json", check=True)
    hints = next(c for c in json.loads(doctor.stdout) if c["name"] == "adopt")["hints"]
    assert f"task {second.task_id} comes after {first.task_id} again" in hints
    listed = {a["id"]: a for a in json.loads(jarvis_env.cli("ls", "--json", check=True).stdout)}
    assert listed[second.id]["after_tasks"] == [first.task_id] and listed[second.id]["after"] == first.task_id
    assert listed[first.id]["status"] == DONE and listed[second.id]["status"] == WORKING
    jarvis_env.cli("fire", second.id, "--reason", "dumb", check=True)
