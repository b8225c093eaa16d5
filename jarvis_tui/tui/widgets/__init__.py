"""Widgets of the main screen, one module per region: header gauge, agent table, logs, grid."""
