"""The dashboard: a Textual face over the engine (``jarvis`` / ``jarvis tui`` / ``jarvis demo``).

One concept per module, one folder per place on screen (posting style)::

    run.py            entry points: run_dashboard, run_demo, close_engine (the handoff on quit)
    app.py            the App: the engine poll, config reloads, git facts, notifications, palette
    actions.py        every key ONCE: bindings, footer, palette and help are generated from it
    engine_calls.py   the actions that change the engine (spawn, fire...), in thread workers
    messages.py       typed messages between threads, widgets and the app
    app.tcss          layout (CSS_PATH)
    demo.py           the scratch repository and config of ``jarvis demo`` (no Textual)
    widgets/          gauge (header), agent_table, log_pane, grid, footer
    screens/          main (the layout and its keys); spawn, fire, send, confirm, help (dialogs);
                      detail, metrics (full screens)

The engine never imports this package (tests/test_boundary.py checks it).
"""
