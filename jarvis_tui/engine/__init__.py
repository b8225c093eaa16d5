"""The headless engine: config, registry, tmux runner, worktrees, resources, scheduling.

Nothing under this package may import Textual (a test enforces it): the CLI, the dashboard
and the agents' own reports are faces over the same engine.
"""
