"""The dashboard driven from the keyboard against real tmux, git and the demo agent.

Each test is a user's story: spawn from the dialog, fire with a reason, retry, answer a
waiting agent, quit and reopen, and the CLI and the dashboard seeing each other's work.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from conftest import git
from textual.widgets import Input, Select, Static, TextArea
from tui_helpers import cell_text, make_app, rich_text, shown, status_of, wait_until

from jarvis_tui.engine.models import DONE, FAILED, FIRED, STARTING, WAITING, WORKING
from jarvis_tui.tui.actions import ENGINE_ROWS, refusal
from jarvis_tui.tui.screens.confirm import ConfirmScreen
from jarvis_tui.tui.screens.detail import DetailScreen
from jarvis_tui.tui.screens.fire import FireScreen
from jarvis_tui.tui.screens.send import SendScreen
from jarvis_tui.tui.screens.spawn import SpawnScreen


def cli_agents(jarvis_env) -> dict[str, dict]:
    result = jarvis_env.cli("ls", "--json", check=True)
    return {a["id"]: a for a in json.loads(result.stdout)}


async def test_spawn_from_the_dialog(jarvis_env):
    app = make_app(jarvis_env.sup())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 1, what="first tick")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, SpawnScreen), what="spawn dialog")
        dialog = app.screen
        # an empty prompt is refused inside the dialog, not with a crash
        await pilot.press("ctrl+s")
        error = dialog.query_one("#error", Static)
        assert isinstance(app.screen, SpawnScreen) and error.display
        assert "prompt is empty" in str(error.render())
        assert dialog.query_one("#agent", Select).value == "demo"
        await pilot.press(*"Write the notes #steps=2")
        assert dialog.query_one("#prompt", TextArea).text == "Write the notes #steps=2"
        assert not error.display
        dialog.query_one("#title", Input).value = "Notes from the dialog"
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, SpawnScreen)

        def spawned():
            return next((a for a in app.agents.values() if a.title == "Notes from the dialog"), None)

        agent = await wait_until(pilot, spawned, what="the new agent in the table")
        assert app.table.selected_id == agent.id  # the cursor follows the new agent
        await wait_until(pilot, lambda: status_of(app, agent.id) == DONE, what="the agent to finish")
        await wait_until(pilot, lambda: app.log_pane.lines_written >= 3, what="its log")
        text = "\n".join(strip.text for strip in app.log_pane.log.lines)
        assert f"demo-agent {agent.id}" in text and "\x1b" not in text
        await app.workers.wait_for_complete()
    listed = cli_agents(jarvis_env)
    assert listed[agent.id]["status"] == DONE and listed[agent.id]["title"] == "Notes from the dialog"


async def test_a_held_ticket_spawned_from_the_dialog_waits_until_u_releases_it(jarvis_env):
    app = make_app(jarvis_env.sup())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 1, what="first tick")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, SpawnScreen), what="spawn dialog")
        dialog = app.screen
        dialog.query_one("#prompt", TextArea).text = "Fix the flaky test #steps=1"
        dialog.query_one("#ticket", Input).value = "../bad"
        dialog.query_one("#start", Select).value = "hold"
        await pilot.press("ctrl+s")  # the engine's own rule for tickets, shown in the dialog
        assert isinstance(app.screen, SpawnScreen) and "cannot go into a branch name" in str(
            dialog.query_one("#error", Static).render()
        )
        dialog.query_one("#ticket", Input).value = "ENG-142"
        await pilot.press("ctrl+s")
        agent = await wait_until(pilot, lambda: next(iter(app.agents.values()), None), what="the row")
        await wait_until(pilot, lambda: status_of(app, agent.id) == "held", what="held")
        assert app.agents[agent.id].ticket == "ENG-142" and app.table.selected_id == agent.id
        await pilot.press("u")
        await wait_until(pilot, lambda: status_of(app, agent.id) in (WORKING, DONE), what="released and started")
        assert "ENG-142" in (app.agents[agent.id].branch or "")
        await pilot.press("u")  # released already: the key says why not, nothing happens
        await wait_until(pilot, lambda: status_of(app, agent.id) == DONE, what="done")
        await app.workers.wait_for_complete()
    listed = cli_agents(jarvis_env)
    assert listed[agent.id]["ticket"] == "ENG-142" and listed[agent.id]["status"] == DONE


async def test_a_slow_spawn_shows_as_starting_with_a_spinner_while_the_screen_stays_live(jarvis_env):
    sup = jarvis_env.sup()
    app = make_app(sup)
    # a big repository: `git worktree add` takes seconds (held by a post-checkout hook)
    with jarvis_env.start_gate() as gate:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.ticks >= 1, what="first tick")
            await pilot.press("n", *"slow one #steps=1", "ctrl+s")
            agent = await wait_until(pilot, lambda: next(iter(app.agents.values()), None), what="the row")
            assert agent.status == STARTING
            frames: set[str] = set()

            def spinning() -> bool:
                frames.add(cell_text(app, agent.id, "status"))
                return len(frames) >= 3

            await wait_until(pilot, spinning, timeout=5, what="the spinner turning")
            assert all(f.endswith(" starting") for f in frames), frames
            await pilot.press("slash", *"slow")  # and the screen answers meanwhile
            assert shown(app) == [agent.id]
            gate.open()
            await wait_until(pilot, lambda: status_of(app, agent.id) in (WORKING, DONE), what="started")
            await app.workers.wait_for_complete()


async def test_spawn_refused_by_the_engine_reopens_the_dialog_with_its_reason(jarvis_env):
    app = make_app(jarvis_env.sup())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 1, what="first tick")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, SpawnScreen), what="spawn dialog")
        app.screen.query_one("#prompt", TextArea).text = "has a \x00 NUL byte"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, SpawnScreen) and app.screen.query_one("#error", Static).display,
            what="the dialog back, with an error",
        )
        assert "NUL" in str(app.screen.query_one("#error", Static).render())
        assert app.screen.query_one("#prompt", TextArea).text == "has a \x00 NUL byte"
        await pilot.press("escape")
        assert not isinstance(app.screen, SpawnScreen)
    assert cli_agents(jarvis_env) == {}


async def test_fire_with_a_reason_preserves_the_work(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Work forever #dirty #hang", agent="demo", title="Long job")
    jarvis_env.wait_for(
        sup, agent.id, lambda a: (Path(a.worktree) / "untracked_work.txt").exists(), what="uncommitted work"
    )
    app = make_app(sup)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(app, agent.id) == WORKING, what="the agent in the table")
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, FireScreen), what="fire dialog")
        await pilot.press("enter")  # no reason chosen yet: refused in the dialog
        assert isinstance(app.screen, FireScreen)
        assert app.screen.query_one("#error", Static).display
        await pilot.press("down", "down", "up", "3", "2")  # arrows, then the number keys: obstinate
        await pilot.press("tab", *"ignores spec")
        await pilot.press("enter")
        await wait_until(pilot, lambda: status_of(app, agent.id) == FIRED, what="the agent fired")
        # the details show the fire and where the work is
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="detail view")
        detail = app.screen
        await wait_until(pilot, lambda: detail.data is not None, what="git facts in the detail view")
        overview = rich_text(detail.overview(detail.data))
        assert "obstinate" in overview and "ignores spec" in overview
        assert f"refs/jarvis/fired/{agent.id}" in overview and "untracked_work.txt" in overview
        await pilot.press("d")
        await wait_until(pilot, lambda: detail.diff_shown is not None, what="the diff")
        assert any("+work in progress" in line for line in detail.diff_shown)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
    fired = sup.get(agent.id)
    assert [(f.reason, f.note) for f in fired.fires] == [("obstinate", "ignores spec")]
    ref = f"refs/jarvis/fired/{agent.id}"
    assert fired.fires[0].ref == ref
    assert git(jarvis_env.repo, "show", f"{ref}:untracked_work.txt") == "work in progress"
    assert git(jarvis_env.repo, "show", f"{ref}:notes/scratch.md") == "committed draft\nuncommitted edit"
    assert cli_agents(jarvis_env)[agent.id]["status"] == FIRED


async def test_retry_and_fresh_retry_from_the_dashboard(jarvis_env):
    sup = jarvis_env.sup()
    first = sup.spawn("Break #steps=1 #exit=3", agent="demo", title="Breaks")
    jarvis_env.wait_status(sup, first.id, FAILED)
    app = make_app(sup)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(app, first.id) == FAILED, what="the failed agent")
        await pilot.press("r")

        def attempt(number):
            return next((a for a in app.agents.values() if a.task_id == first.task_id and a.attempt == number), None)

        second = await wait_until(pilot, lambda: attempt(2), what="attempt 2 in the table")
        assert first.id not in shown(app)  # the table shows the latest attempt of each task
        await wait_until(pilot, lambda: app.table.selected_id == second.id, what="the cursor on attempt 2")
        await wait_until(pilot, lambda: status_of(app, second.id) == FAILED, what="attempt 2 to fail too")
        await pilot.press("R")
        third = await wait_until(pilot, lambda: attempt(3), what="attempt 3 (fresh)")
        await wait_until(pilot, lambda: status_of(app, third.id) in (WORKING, FAILED), what="attempt 3 running")
        await app.workers.wait_for_complete()
    everything = json.loads(jarvis_env.cli("ls", "--all", "--json", check=True).stdout)
    attempts = sorted(a["attempt"] for a in everything if a["task_id"] == first.task_id)
    assert attempts == [1, 2, 3]
    assert cli_agents(jarvis_env)[third.id]["attempt"] == 3


async def test_send_input_to_a_waiting_agent(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Ask first #steps=1 #ask", agent="demo", title="Asks")
    app = make_app(sup)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(app, agent.id) == WAITING, what="the agent waiting")
        status_cell = app.table.get_cell(agent.id, "status")
        assert "waiting" in status_cell.plain and "reverse" in str(status_cell.style)  # it stands out
        await wait_until(pilot, lambda: "[y/N]" in app.log_pane.partial, what="the question in the log pane")
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SendScreen), what="send dialog")
        assert "[y/N]" in app.screen.question
        await pilot.press("y", "e", "s", "enter")
        await wait_until(pilot, lambda: status_of(app, agent.id) == DONE, what="the agent to finish")
        await app.workers.wait_for_complete()
    assert git(jarvis_env.repo, "show", f"{agent.branch}:notes/answer.txt") == "yes"


async def test_an_empty_line_sends_just_enter_the_agents_default(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Ask first #steps=1 #ask", agent="demo", title="Asks")
    app = make_app(sup)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(app, agent.id) == WAITING, what="the agent waiting")
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SendScreen), what="send dialog")
        await pilot.press("enter")
        await wait_until(pilot, lambda: status_of(app, agent.id) == DONE, what="the agent to finish")
        await app.workers.wait_for_complete()
    assert git(jarvis_env.repo, "show", f"{agent.branch}:notes/answer.txt") == ""


async def test_remove_a_finished_agent_and_attach_falls_back_without_a_terminal(jarvis_env):
    sup = jarvis_env.sup()
    done = sup.spawn("Quick #steps=1 #dirty", agent="demo", title="Quick")
    running = sup.spawn("Keep going #hang", agent="demo", title="Runner")
    jarvis_env.wait_status(sup, done.id, DONE)
    app = make_app(sup)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_until(
            pilot, lambda: status_of(app, done.id) == DONE and status_of(app, running.id) == WORKING, what="both agents"
        )
        app.table.select(running.id)
        await pilot.press("x")  # running: refused before any dialog, in the engine's words
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(n.message == f"agent {running.id} is working; fire it first" for n in app._notifications)
        await pilot.press("a")  # a headless test has no terminal to hand over: an error, not a crash
        await wait_until(
            pilot,
            lambda: any("run: " in n.message and "attach-session" in n.message for n in app._notifications),
            what="the attach command",
        )
        app.table.select(done.id)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: done.id not in shown(app), what="the row gone")
        await app.workers.wait_for_complete()
    listed = cli_agents(jarvis_env)
    assert done.id not in listed and running.id in listed
    kept = sup.get(done.id)
    assert kept.removed and kept.preserved_ref == f"refs/jarvis/kept/{done.id}"
    assert git(jarvis_env.repo, "show", f"{kept.preserved_ref}:untracked_work.txt") == "work in progress"
    sup.fire(running.id, "dumb")


async def test_the_table_shows_commits_ahead_and_uncommitted_work_from_git(jarvis_env):
    sup = jarvis_env.sup()
    agent = jarvis_env.wait_status(sup, sup.spawn("Quick #steps=1 #dirty", agent="demo").id, DONE)
    ahead = git(jarvis_env.repo, "rev-list", "--count", f"{agent.base_commit}..{agent.branch}")
    assert int(ahead) >= 2
    app = make_app(sup, git_interval=0.2)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(
            pilot,
            lambda: agent.id in shown(app) and cell_text(app, agent.id, "ahead") == f"{ahead}*",
            what=f"{ahead} commits ahead, with uncommitted work (*)",
        )
        await asyncio.to_thread(jarvis_env.cli, "rm", agent.id, check=True)  # removed from the CLI
        await wait_until(
            pilot,
            lambda: agent.id not in shown(app) and agent.id not in app.git_facts,
            what="the row and its git facts gone",
        )
        await app.workers.wait_for_complete()


async def test_quit_leaves_agents_running_and_reopening_shows_them(jarvis_env):
    sup = jarvis_env.sup()
    agent = sup.spawn("Keep going #hang", agent="demo", title="Long runner")
    app = make_app(sup, cli="jarvis")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(app, agent.id) == WORKING, what="the agent in the table")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_value is not None, what="the app to quit")
    message = app.return_value
    assert f"1 agent still running on tmux socket {jarvis_env.socket}" in message
    assert "reopen with `jarvis`" in message
    assert agent.tmux_session in jarvis_env.tmux.sessions()
    assert cli_agents(jarvis_env)[agent.id]["status"] == WORKING

    again = make_app(jarvis_env.sup())
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: status_of(again, agent.id) == WORKING, what="the agent shown again")
        await wait_until(pilot, lambda: again.log_pane.lines_written > 0, what="its log, from the file")
    sup.fire(agent.id, "dumb")


async def test_cli_and_dashboard_stay_in_step(jarvis_env):
    app = make_app(jarvis_env.sup(), interval=1.0)  # the real interval: the 2 s promise
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 1, what="first tick")
        spawned = await asyncio.to_thread(
            jarvis_env.cli, "spawn", "--agent", "demo", "--title", "From the CLI", "hang around #hang", check=True
        )
        agent_id = spawned.stdout.strip()
        await wait_until(
            pilot,
            lambda: status_of(app, agent_id) == WORKING,
            timeout=2.0,
            what="a CLI-spawned agent in the table within 2 s",
        )
        await asyncio.to_thread(jarvis_env.cli, "fire", agent_id, "--reason", "dumb", check=True)
        await wait_until(
            pilot, lambda: status_of(app, agent_id) == FIRED, timeout=2.0, what="a CLI fire in the table within 2 s"
        )
        # and the other way round: the dashboard's retry shows in `jarvis ls`
        app.table.select(agent_id)
        await pilot.press("r")
        retried = await wait_until(
            pilot,
            lambda: next((a for a in app.agents.values() if a.task_id == agent_id and a.attempt == 2), None),
            what="the retry",
        )
        await app.workers.wait_for_complete()
        listed = await asyncio.to_thread(cli_agents, jarvis_env)
        assert listed[retried.id]["attempt"] == 2 and agent_id not in listed
    await asyncio.to_thread(jarvis_env.cli, "fire", retried.id, "--reason", "dumb")


async def test_a_failing_engine_call_is_shown_not_fatal(jarvis_env, monkeypatch):
    sup = jarvis_env.sup()
    first = sup.spawn("Break #steps=1 #exit=1", agent="demo")
    jarvis_env.wait_status(sup, first.id, FAILED)
    app = make_app(sup)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_until(pilot, lambda: status_of(app, first.id) == FAILED, what="the failed agent")

        def broken_retry(*args, **kwargs):
            raise OSError("disk on fire")

        monkeypatch.setattr(sup, "retry", broken_retry)
        await pilot.press("r")
        await wait_until(
            pilot,
            lambda: any("disk on fire" in n.message for n in app._notifications),
            what="the error as a notification",
        )
        # a tick that fails shows in the header and the next one recovers
        real_tick = app.loop.tick
        calls = {"n": 0}

        def flaky_tick():
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("tmux went away")
            return real_tick()

        monkeypatch.setattr(app.loop, "tick", flaky_tick)
        headed: list[str] = []  # (the next tick clears it within a fraction of a second: record it)
        show_error = app.gauge.show_error
        monkeypatch.setattr(app.gauge, "show_error", lambda error: (headed.append(error), show_error(error)))
        await wait_until(pilot, lambda: "tmux went away" in headed, what="the error in the header")
        await wait_until(pilot, lambda: calls["n"] >= 2 and not app.gauge.error, what="recovery")
        assert app.is_running


async def test_the_bell_rings_once_when_an_agent_starts_waiting(jarvis_env, monkeypatch):
    sup = jarvis_env.sup()
    before = sup.spawn("Asked before #steps=1 #ask", agent="demo", title="Asked before")
    jarvis_env.wait_status(sup, before.id, WAITING)
    app = make_app(sup)
    rings: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(app.ticks))

    def spawn_now():  # from a thread: the dashboard keeps ticking meanwhile
        try:
            return sup.spawn("Ask later #steps=1 #ask", agent="demo", title="Asks later")
        finally:
            sup.registry.close()

    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.ticks >= 3, what="a few ticks")
        assert status_of(app, before.id) == WAITING
        assert rings == []  # it was waiting before the dashboard opened

        agent = await asyncio.to_thread(spawn_now)
        await wait_until(pilot, lambda: status_of(app, agent.id) == WAITING, what="the new agent waiting")
        ticks = app.ticks
        await wait_until(pilot, lambda: app.ticks >= ticks + 4, what="more ticks while it waits")
        assert len(rings) == 1  # once, when it started waiting; not every tick
        notes = [n.message for n in app._notifications]
        mine = [m for m in notes if m.startswith(f"{agent.id} is waiting: ")]
        assert len(mine) == 1 and "[y/N]" in mine[0]
        assert not any(m.startswith(f"{before.id} is waiting") for m in notes)
        await app.workers.wait_for_complete()
    for waiting in (before, agent):
        sup.fire(waiting.id, "dumb")


async def test_git_facts_are_read_only_for_agents_whose_output_moved(jarvis_env, monkeypatch):
    from jarvis_tui.engine.git import facts as facts_module

    sup = jarvis_env.sup()
    talker = sup.spawn("Keeps printing #hang", agent="demo")
    quiet = sup.spawn("Prints its banner, then nothing #hang #silent", agent="demo")
    for agent in (talker, quiet):
        jarvis_env.wait_for(sup, agent.id, lambda a: a.last_output_at is not None, what="first output")
    read: list[str] = []
    real = facts_module.FleetFacts._look
    monkeypatch.setattr(facts_module.FleetFacts, "_look", lambda self, a: read.append(a.id) or real(self, a))
    monkeypatch.setattr(facts_module, "FULL_ROUND", 3600.0)  # no full round during the test
    app = make_app(sup, git_interval=0.2)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: {talker.id, quiet.id} <= set(read), what="a first round for both")
        first = len(read)
        await wait_until(pilot, lambda: read[first:].count(talker.id) >= 3, what="three more rounds")
        assert quiet.id not in read[first:]  # silent since: its files did not move, no git call
        await app.workers.wait_for_complete()
    for agent in (talker, quiet):
        sup.fire(agent.id, "dumb")


async def test_moving_between_agents_allowed_the_same_keys_does_not_rebuild_the_footer(jarvis_env):
    """A footer rebuild is a whole layout pass: it happens when what the engine allows for the
    selected agent changes, not on every cursor move (it made key latency at 100 agents)."""
    sup = jarvis_env.sup()
    ids = [sup.spawn(f"Hangs {i} #hang", agent="demo").id for i in range(3)]
    for agent_id in ids:
        jarvis_env.wait_status(sup, agent_id, WORKING, WAITING)
    app = make_app(sup)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.screen.table.visible_ids) == 3, what="three rows")
        screen = app.screen
        rebuilds: list[int] = []
        original = screen.refresh_bindings
        screen.refresh_bindings = lambda: rebuilds.append(1) or original()  # type: ignore[method-assign]
        rules = {tuple(refusal(row, app.agents[i]) is None for row in ENGINE_ROWS) for i in ids}
        assert len(rules) == 1, "the three agents should allow the same keys"
        await pilot.press("down")
        await pilot.press("down")
        await pilot.pause()
        assert screen.table.cursor_row == 2
        assert rebuilds == []
        sup.fire(screen.table.selected_id, "dumb")
        await wait_until(pilot, lambda: rebuilds, what="a rebuild once the selected agent is fired")
        await app.workers.wait_for_complete()
    for agent_id in ids:
        if sup.registry.get(agent_id).status in (WORKING, WAITING):
            sup.fire(agent_id, "dumb")
