"""A load-generating "agent" for the benchmarks: prints numbered lines at a fixed rate.

    python benchmarks/talker.py rate=10 [count=N] [seconds=S] [tag=T] [width=W]

Arguments are ``key=value`` words; they may also arrive as ONE argument with spaces in it (a
jarvis profile passes the prompt as a single argv item), so both forms are accepted.

- ``rate``: lines per second; ``0`` prints one line and then sleeps (an idle agent);
  ``max`` writes as fast as the terminal takes it (a flooding agent).
- ``count``: stop after this many numbered lines, print ``TAG END COUNT`` and exit 0.
- ``seconds``: stop after this long (same ending). Without count or seconds it runs until killed.
- ``tag``: first word of every line, so a log can be checked line by line for losses.
- ``go``: a file path; wait (silently) until it exists before starting, so agents started one
  by one can all begin at the same moment.

Every numbered line is ``TAG SEQ payload``, SEQ zero-padded, so a reader can tell exactly
which lines reached a log. Deliberately tiny: its own CPU is the agents' work, which the
benchmarks exclude; only what a supervisor spends around it is measured.
"""

from __future__ import annotations

import os
import signal
import sys
import time

FILLER = "the quick brown fox jumps over the lazy dog 0123456789 " * 4


def parse(argv: list[str]) -> dict[str, str]:
    spec: dict[str, str] = {}
    for word in " ".join(argv).split():
        key, sep, value = word.partition("=")
        if not sep:
            raise SystemExit(f"talker: expected key=value, got {word!r}")
        spec[key] = value
    unknown = set(spec) - {"rate", "count", "seconds", "tag", "width", "go"}
    if unknown:
        raise SystemExit(f"talker: unknown settings {sorted(unknown)}")
    return spec


def main(argv: list[str]) -> int:
    spec = parse(argv)
    tag = spec.get("tag", "talker")
    rate_word = spec.get("rate", "10")
    flood = rate_word == "max"
    rate = 0.0 if flood else float(rate_word)
    count = int(spec["count"]) if "count" in spec else None
    seconds = float(spec["seconds"]) if "seconds" in spec else None
    width = int(spec.get("width", "80"))
    payload = FILLER[: max(0, width - len(tag) - 10)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = sys.stdout.buffer
    if "go" in spec:
        while not os.path.exists(spec["go"]):
            time.sleep(0.05)
    start = time.monotonic()
    sent = 0

    def emit(upto: int) -> None:
        nonlocal sent
        if upto > sent:
            out.write("".join(f"{tag} {n:08d} {payload}\n" for n in range(sent, upto)).encode())
            out.flush()
            sent = upto

    def finished(now: float) -> bool:
        return (count is not None and sent >= count) or (seconds is not None and now - start >= seconds)

    if rate == 0 and not flood:  # idle: one line to show it started, then nothing
        emit(1)
        while not finished(time.monotonic()):
            time.sleep(0.5 if seconds is not None else 3600)
        return end(out, tag, sent)
    while True:
        now = time.monotonic()
        if finished(now):
            return end(out, tag, sent)
        if flood:
            target = sent + 500
        else:
            target = int((now - start) * rate) + 1
        if count is not None:
            target = min(target, count)
        emit(target)
        if not flood:
            # Wake for the next line, but at most ~100 times a second: one write per wake.
            time.sleep(max(0.01, (sent / rate) - (time.monotonic() - start)))


def end(out, tag: str, sent: int) -> int:  # type: ignore[no-untyped-def]
    out.write(f"{tag} END {sent}\n".encode())
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (BrokenPipeError, KeyboardInterrupt):
        os._exit(0)
