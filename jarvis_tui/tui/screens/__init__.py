"""Screens: modal dialogs (spawn, fire, send, confirm) and the agent detail view."""
