"""The peer-comparison benchmark behind ``python benchmarks/peers.py`` (issue 9).

- ``procs``: /proc snapshots; CPU of whole process trees over a window; PSS.
- ``screen``: a private tmux server standing in for the user's terminal; first paint and
  key latency read from ``capture-pane``.
- ``janitor``: everything started is stopped, on success, failure or Ctrl-C.
- ``stacks``: jarvis, pm2 and mprocs running the same talker agents.
- ``scenarios``: what is measured, one function per table row group.
- ``report``: medians, spreads, ratios, goals, machine facts and the markdown table.

Nothing here installs anything: pm2 and mprocs are used when found (PATH, ``--peers-dir``,
``$JARVIS_BENCH_PEERS``) and reported as "not installed" otherwise.
"""
