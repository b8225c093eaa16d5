"""Attaching to an agent's session, from a plain shell or from inside the user's own tmux.

When the dashboard (or ``jarvis attach``) runs inside the user's tmux, ``ctrl-b`` belongs to
THEIR tmux: ``ctrl-b d`` would detach their outer client. Our server binds ``ctrl-q`` in its
root table instead, which passes through the outer tmux; the session's status line says so.
These run a real outer tmux server (its own private socket) around a real attach.
"""

from __future__ import annotations

import shlex
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jarvis_tui.describe import attach_label
from jarvis_tui.engine.models import WORKING
from jarvis_tui.engine.tmux import Tmux, status_literal

HOSTILE_TITLE = "Fix #(touch {pwned}) #{{session_name}} #[fg=red] 100% %d $(id) \"q\" 's' ;"


def wait(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def users_tmux(command: str, *, cwd: Path, width: int = 200) -> Iterator[tuple[Tmux, str]]:
    """The user's own tmux (another private server), its one pane running ``command`` with
    $TMUX set, as a shell inside tmux has it; killed afterwards. Yields (server, pane id)."""
    outer = Tmux(f"jarvis-test-outer-{uuid.uuid4().hex[:8]}")
    try:
        outer.run(
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            "12",
            "-s",
            "user",
            ";",
            "set-option",
            "-w",
            "-t",
            "=user:",
            "remain-on-exit",
            "on",
        )
        pane = outer.run("list-panes", "-t", "=user:", "-F", "#{pane_id}").stdout.strip()
        outer.run("respawn-pane", "-k", "-t", pane, "-c", str(cwd), command)
        yield outer, pane
    finally:
        outer.kill_server()


def last_line(outer: Tmux, pane: str) -> str:
    lines = outer.capture(pane).rstrip("\n").splitlines()
    return lines[-1].strip() if lines else ""


def detach_and_wait(outer: Tmux, pane: str) -> None:
    """ctrl-q in the user's tmux; the attach inside it must end (pane_dead: tmux 3.3a does not
    always record pane_dead_status, NOTES.md)."""
    outer.run("send-keys", "-t", pane, "C-q")
    wait(
        lambda: outer.run("display-message", "-p", "-t", pane, "#{pane_dead}").stdout.strip() == "1",
        "the nested client to detach",
    )


def test_status_literal_neutralises_tmux_formats_and_separators():
    assert status_literal("a #{b} #(c) 50% %d") == "a ##{b} ##(c) 50%% %%d"
    assert status_literal("ends with;") == "ends with; "  # a trailing ';' would end the tmux command
    assert status_literal("tab\there\x1b[31m") == "tab here [31m"


def test_attach_from_inside_tmux_shows_who_and_ctrl_q_detaches_only_our_client(jarvis_env):
    pwned = Path(f"/tmp/jv-{uuid.uuid4().hex[:8]}")  # short: the whole title fits the status line
    title = HOSTILE_TITLE.format(pwned=pwned)
    sup = jarvis_env.sup()
    agent = sup.spawn("Keep going #hang", agent="demo", title=title)
    agent = jarvis_env.wait_status(sup, agent.id, WORKING)
    ours = jarvis_env.tmux
    # every session start binds the detach key in our server's root table (no prefix)
    assert "detach-client" in ours.run("list-keys", "-T", "root", "C-q").stdout
    argv = ours.attach_argv(agent.tmux_session, status=attach_label(agent))
    assert argv[:5] == ours.base_argv() and argv[-3:] == ["attach-session", "-t", f"=jarvis-{agent.id}"]
    # What the dashboard does from inside the user's tmux: attach_env() unsets $TMUX for ours.
    with users_tmux("env -u TMUX -u TMUX_PANE " + shlex.join(argv), cwd=jarvis_env.root) as (outer, pane):
        shown = wait(
            lambda: last_line(outer, pane).startswith("jarvis ·") and last_line(outer, pane), "our status line"
        )
        assert shown == f"jarvis · {agent.id} · {' '.join(title.split())} · ctrl-q detach"
        assert not pwned.exists()  # "#(...)" in a title is never run
        detach_and_wait(outer, pane)
        assert ours.has_session(agent.tmux_session)  # the agent runs on, only our client left
        assert outer.run("has-session", "-t", "=user").returncode == 0  # and the user's tmux is untouched
    sup.fire(agent.id, "dumb")


def test_jarvis_attach_prints_a_command_that_targets_the_exact_session(jarvis_env):
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("Keep going #hang", agent="demo", title="Runner").id, WORKING)
    printed = jarvis_env.cli("attach", agent.id[:4], "--print")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.rstrip().endswith(f"attach-session -t =jarvis-{agent.id}")
    assert "C-q detach-client" in printed.stdout and f"jarvis · {agent.id} · Runner · ctrl-q detach" in printed.stdout
    sup.fire(agent.id, "dumb")


def test_jarvis_attach_from_a_shell_inside_tmux_detaches_with_ctrl_q(jarvis_env):
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("Keep going #hang", agent="demo", title="Runner").id, WORKING)
    command = (
        f"JARVIS_CONFIG={shlex.quote(str(jarvis_env.config_path))} "
        f"{shlex.quote(sys.executable)} -m jarvis_tui attach {agent.id[:4]}"
    )
    with users_tmux(command, cwd=jarvis_env.root, width=160) as (outer, pane):
        wait(
            lambda: last_line(outer, pane) == f"jarvis · {agent.id} · Runner · ctrl-q detach",
            "our status line in the user's tmux",
        )
        detach_and_wait(outer, pane)
        assert jarvis_env.tmux.has_session(agent.tmux_session)  # only our client went
    sup.fire(agent.id, "dumb")
