"""``jarvis mcp``: the engine offered to an orchestrating agent as MCP tools over stdio.

A face like the CLI and the dashboard: every tool is a thin call into the same
:class:`~jarvis_tui.engine.supervisor.Supervisor`, returning the same JSON records as the
CLI's ``--json`` (errors: the CLI's message and exit code). Only ``jarvis mcp`` imports this
package (and so the ``mcp`` SDK): other commands do not pay for it.

    server.py   the tools, and running the server
    link.py     the connected client: who it is (shown in the dashboard's header), and the
                status changes and findings pushed to it as log notifications
"""
