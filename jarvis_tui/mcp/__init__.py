"""``jarvis mcp``: the engine offered to an orchestrating agent as MCP tools over stdio.

A face like the CLI and the dashboard: every tool is a thin call into the same
:class:`~jarvis_tui.engine.supervisor.Supervisor`, returning the same JSON records as the
CLI's ``--json`` (errors: the CLI's message and exit code). Only ``jarvis mcp`` imports this
package (and so the ``mcp`` SDK): other commands do not pay for it.

    server.py        the server: its tools registered, its client link, running it
    common.py        what every tool shares: argument types, one engine call, results and refusals
    agents.py        spawn, spawn_batch, list, show, read_log, send_input, fire, retry, remove, release
    orchestrate.py   wait_for, task_stats, add_note, list_notes, dispatch_preview
    review.py        review, merge, conflicts
    link.py          the connected client: who it is (shown in the dashboard's header), and the
                     status changes and findings pushed to it as log notifications
"""
