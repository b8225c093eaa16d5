"""jarvis-tui: supervise fleets of long-running AI coding agents."""

__version__ = "0.1.0"
