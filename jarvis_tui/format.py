"""Human formatting shared by the CLI and the dashboard (pure functions, no UI imports)."""

from __future__ import annotations

STATUS_STYLES: dict[str, tuple[str, str]] = {
    "queued": ("dim", "…"),
    "blocked": ("magenta", "⊘"),
    "starting": ("cyan", "◌"),
    "working": ("green", "●"),
    "waiting": ("bold yellow", "?"),
    "done": ("blue", "✓"),
    "failed": ("red", "✗"),
    "fired": ("bold red", "⏏"),
    "held": ("dim italic", "‖"),
    "merged": ("magenta", "⇥"),
}


def one_line(text: str, limit: int = 60) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit`` with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"


def status_style(status: str) -> tuple[str, str]:
    return STATUS_STYLES.get(status, ("", "·"))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def age(seconds: float) -> str:
    """A duration at a table's resolution: seconds in the first minute, then minutes (``45s``,
    ``12m``, ``3h05m``, ``2d04h``), as ``docker ps`` or ``pm2 ls`` show an uptime. A column in
    this format changes once a minute, not every second, for each of a hundred rows."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return duration(seconds)


def ago(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    return duration(now - ts) + " ago"


def size(num_bytes: float | None) -> str:
    if num_bytes is None:
        return "-"
    value = float(num_bytes)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit in ("B", "K") else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"


def money(usd: float | None, source: str | None = None) -> str:
    """``$1.23``; an estimate (no priced transcript) is ``~$1.23``; unknown is ``-``."""
    if usd is None:
        return "-"
    return ("~" if source == "estimate" else "") + f"${usd:,.2f}"


def tokens_short(count: int | None) -> str:
    """``830``, ``12.5k``, ``3.2M``."""
    if count is None:
        return "-"
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"
