"""Linux's ``/proc`` read directly, without psutil (importing it alone was ~8 ms of every CLI
spawn): a process's ``stat`` fields, the machine's boot time, CPU ticks and memory.

Each reader returns None where there is no ``/proc`` (or the process is gone); the callers
(:mod:`.resources`, :mod:`.lease`) fall back to psutil off Linux.
"""

from __future__ import annotations

import os

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # clock ticks per second
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

_boot: list[float | None] = []


def hostname() -> str:
    """This machine's name, as claims, leases and the engine's owner record it: what
    ``socket.gethostname()`` returns (both read uname), without importing ``socket``."""
    return os.uname().nodename


def stat_fields(pid: int) -> list[bytes] | None:
    """``/proc/PID/stat`` after ``(comm)`` (which may hold spaces): ``[0]`` the state letter,
    ``[1]`` the parent pid, ``[11]``/``[12]`` user/system ticks, ``[19]`` the start in ticks
    after boot. None: no such process (it may have exited between a listing and the read)."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].split()


def boot_time() -> float | None:
    """When the machine booted (``btime`` of ``/proc/stat``, read once), or None without ``/proc``."""
    if not _boot:
        try:
            with open("/proc/stat", "rb") as fh:
                _boot.append(next(float(line.split()[1]) for line in fh if line.startswith(b"btime ")))
        except (OSError, StopIteration, ValueError, IndexError):
            _boot.append(None)
    return _boot[0]


def cpu_times() -> tuple[float, float] | None:
    """(busy, total) CPU ticks of the whole machine from ``/proc/stat``'s first line, counted as
    psutil does: guest time is already inside user time, idle and iowait are not busy."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 4:
        return None
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest counted in user)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return float(total - idle), float(total)


def memory() -> tuple[int, int] | None:
    """(bytes in use, total) from ``/proc/meminfo``: total minus available, psutil's ``percent``."""
    values: dict[bytes, int] = {}
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                name, _, rest = line.partition(b":")
                if name in (b"MemTotal", b"MemAvailable"):
                    values[name] = int(rest.split()[0]) * 1024
                    if len(values) == 2:
                        break
    except (OSError, ValueError, IndexError):
        return None
    if len(values) < 2:
        return None
    return values[b"MemTotal"] - values[b"MemAvailable"], values[b"MemTotal"]


__all__ = ["PAGE", "TICKS", "boot_time", "cpu_times", "memory", "stat_fields"]
