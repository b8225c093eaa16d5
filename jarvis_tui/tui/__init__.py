"""The dashboard: a Textual face over the engine (``jarvis`` / ``jarvis tui`` / ``jarvis demo``).

Layout, one folder per place on screen (posting style)::

    app.py            the App: bindings, the engine poll, action workers
    app.tcss          layout (CSS_PATH)
    messages.py       typed messages between threads, widgets and the app
    demo.py           the scratch repository and config of ``jarvis demo`` (no Textual)
    widgets/          gauge (header), agent_table, log_pane, grid
    screens/          spawn, fire, send, confirm (modal dialogs); detail, metrics (full screens)

The engine never imports this package (tests/test_boundary.py checks it).
"""
