"""Registry errors, and plain words for storage faults (full disk, read-only folder, corrupt
or vanished database), so no command ever shows a raw sqlite traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class RegistryError(Exception):
    exit_code = 1


class NotFound(RegistryError):
    pass


class StorageError(RegistryError):
    """The registry cannot be read or written; the message says why and what to do."""


class RegistryGone(StorageError):
    """The registry was deleted, emptied or replaced while agents' records exist."""


def _filesystem(folder: Path) -> tuple[bool, bool]:
    """(read-only, full) for the filesystem holding ``folder``: SQLite often reports both as a
    bare "disk I/O error" (its WAL index cannot be written), which tells a user nothing."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False, False
    return bool(stat.f_flag & os.ST_RDONLY), stat.f_bavail * stat.f_frsize < 256 * 1024


def storage_error(exc: BaseException, path: Path) -> StorageError:
    """A clear message for a sqlite3 or OS error on the registry file."""
    text = str(exc).lower()
    folder = path.parent
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        text = "disk is full"
    elif isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        text = "read-only"
    elif "disk i/o error" in text or "unable to open" in text:
        read_only, full = _filesystem(folder)
        text = "read-only" if read_only else "disk is full" if full else text
    if "no such table" in text:
        return RegistryGone(
            f"the registry {path} has lost its tables (emptied or replaced while jarvis ran); "
            "refusing to act. Restore it, or rebuild it: jarvis doctor --adopt"
        )
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return StorageError(
            f"cannot write the registry {path}: the state folder is read-only. "
            f"Check the permissions of {folder} (or set [supervisor] state_dir)"
        )
    if "disk is full" in text or "no space" in text:
        return StorageError(f"cannot write the registry {path}: the disk is full. Free some space and retry")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageError(
            f"the registry {path} is corrupt (not a valid SQLite database). Move it aside and "
            f"rebuild it from the agents' records: mv {path} {path}.bad && jarvis doctor --adopt"
        )
    if "locked" in text or "busy" in text:
        return StorageError(f"the registry {path} stayed locked by another process; retry in a moment")
    if "unable to open" in text:
        return StorageError(f"cannot open the registry {path}: {folder} is missing or not writable")
    return StorageError(f"registry {path}: {exc}")


__all__ = ["NotFound", "RegistryError", "RegistryGone", "StorageError", "storage_error"]
