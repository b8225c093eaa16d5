"""``jarvis mcp`` as an orchestrating agent sees it: the SDK's own client over stdio against the
real server process, real tmux, the demo agent.

One session walks the story: list the tools, spawn, wait, read the log, fire, be refused
(with the CLI's words and exit codes), batch, note, be told of status changes, and be shown
to a person in the registry while connected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import Implementation, LoggingMessageNotificationParams

from jarvis_tui.engine import orchestrators

pytestmark = pytest.mark.slow

TOOLS = {
    "spawn",
    "spawn_batch",
    "list_agents",
    "show_agent",
    "read_log",
    "send_input",
    "fire_agent",
    "retry_agent",
    "remove_agent",
    "wait_for",
    "task_stats",
    "review",
    "merge",
    "conflicts",
    "add_note",
    "list_notes",
    "release",
    "dispatch_preview",
}


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert data is not None and json.loads(result.content[0].text) == data  # the JSON text says the same
    return data


async def refused(session: ClientSession, tool: str, **arguments: Any) -> tuple[str, dict[str, Any] | None]:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    return result.content[0].text, result.structured_content


def test_an_orchestrator_drives_jarvis_over_mcp(jarvis_env):
    env = jarvis_env.cli_env() | {"JARVIS_NO_ENGINE": "1"}  # the server observes the agents itself
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "jarvis_tui", "mcp"], env=env, cwd=str(jarvis_env.root)
    )
    sup = jarvis_env.sup()
    heard: list[LoggingMessageNotificationParams] = []

    async def on_log(message: LoggingMessageNotificationParams) -> None:
        heard.append(message)

    async def until(predicate: Any, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await anyio.sleep(0.05)

    async def story() -> None:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(
                read,
                write,
                logging_callback=on_log,
                client_info=Implementation(name="test-orchestrator", version="1.0"),
            ) as session,
        ):
            init = await session.initialize()
            assert init.server_info.name == "jarvis" and init.capabilities.logging is not None
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) >= TOOLS
            assert tools["spawn"].input_schema["required"] == ["prompt"]
            assert tools["fire_agent"].input_schema["properties"]["reason"]["enum"][0] == "derailed"
            # a person sees who drives the workers
            [me] = orchestrators.connected(sup.registry)
            assert me.client == "test-orchestrator"

            agent = await call(session, "spawn", prompt="hello #steps=2", agent="demo", ticket="PROJ-1")
            assert agent["branch"].startswith("jarvis/PROJ-1-hello") and agent["status"] in ("starting", "working")
            waited = await call(session, "wait_for", ids=[agent["id"]], until=["done"], timeout=30)
            assert (waited["outcome"], waited["exit_code"], waited["agents"][0]["status"]) == ("reached", 0, "done")
            log = await call(session, "read_log", id=agent["id"], lines=5)
            assert any("finished with exit code 0" in line for line in log["lines"])
            shown = await call(session, "show_agent", id=agent["id"][:4])
            assert shown["id"] == agent["id"] and shown["prompt"] == "hello #steps=2"
            # status changes were pushed while we were connected, without asking
            await until(
                lambda: "done" in [m.data.get("new") for m in heard if m.logger == "jarvis.status"],
                "a done notification",
            )
            news = [m.data["new"] for m in heard if m.logger == "jarvis.status" and m.data["id"] == agent["id"]]
            assert news[-1] == "done" and "working" in news

            hanging = await call(session, "spawn", prompt="forever #hang", agent="demo")
            fired = await call(session, "fire_agent", id=hanging["id"], reason="derailed", note="wrong file")
            assert fired["status"] == "fired" and fired["fires"][0]["note"] == "wrong file"
            listed = await call(session, "list_agents", status=["fired"])
            assert [a["id"] for a in listed["agents"]] == [hanging["id"]]

            # refused as the CLI refuses: its words, its exit code
            text, data = await refused(session, "fire_agent", id=agent["id"], reason="bored")
            assert (
                data
                == {
                    "error": "unknown fire reason 'bored' (choose from derailed, obstinate, dumb, "
                    "unresponsive, corrupted)",
                    "exit_code": 2,
                }
                and "exit code 2" in text
            )
            _, data = await refused(session, "show_agent", id="ffffff")
            assert data is not None and data["exit_code"] == 3
            text, _ = await refused(session, "spawn", agent="demo")  # the schema's own check: no prompt
            assert "prompt" in text and "Field required" in text
            text, _ = await refused(session, "wait_for", ids=[agent["id"]], timeout="soon")
            assert "timeout" in text
            _, data = await refused(
                session,
                "spawn_batch",
                tasks=[{"name": "a", "prompt": "x", "after": ["b"]}, {"name": "b", "prompt": "y", "after": ["a"]}],
            )
            assert data is not None and "a cycle in after" in data["error"] and data["exit_code"] == 2

            spawned = await call(
                session,
                "spawn_batch",
                strategy="sequential",
                tasks=[
                    {"name": "first", "prompt": "one #steps=1", "agent": "demo", "hold": True},
                    {"prompt": "two #steps=1", "agent": "demo", "hold": True},
                ],
            )
            first, second = spawned["agents"]
            assert second["after_tasks"] == [first["id"]] and {first["status"], second["status"]} == {"held"}
            note = await call(session, "add_note", task=first["id"], text="use the v2 API", tag="api")
            assert note["author"] == "test-orchestrator"
            assert [n["text"] for n in (await call(session, "list_notes", tag="api"))["notes"]] == ["use the v2 API"]
            await until(lambda: any(m.logger == "jarvis.notes" for m in heard), "a note notification")
            preview = await call(session, "dispatch_preview")
            assert set(preview["held"]) == {first["id"], second["id"]}
            stats = await call(session, "task_stats")
            assert stats["profiles"][0]["profile"] == "demo"
            assert orchestrators.connected(sup.registry)[0].calls > 5

    anyio.run(story)
    # the client went: so did the server, and its record
    deadline = time.monotonic() + 10
    while orchestrators.connected(sup.registry):
        assert time.monotonic() < deadline, "the orchestrator record outlived its server"
        time.sleep(0.05)


def test_the_cli_never_imports_the_mcp_sdk():
    code = (
        "import sys, pkgutil, importlib, jarvis_tui.cli, jarvis_tui.engine\n"
        "for m in pkgutil.iter_modules(jarvis_tui.cli.__path__): importlib.import_module('jarvis_tui.cli.' + m.name)\n"
        "for m in pkgutil.iter_modules(jarvis_tui.engine.__path__): importlib.import_module('jarvis_tui.engine.' + m.name)\n"
        "assert not [m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')], 'mcp imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
