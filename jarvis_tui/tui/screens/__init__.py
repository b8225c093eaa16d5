"""Screens: modal dialogs (spawn, fire, send, confirm), the agent detail view and the metrics view."""
