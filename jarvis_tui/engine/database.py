"""The SQLite file under the registry: one connection per thread (WAL, a busy timeout),
write transactions taken up front with ``BEGIN IMMEDIATE`` (two processes queue, never
deadlock) and run after-commit callbacks, and the check that the file is still the one we
opened (deleted, emptied or replaced under a running process: refused).

It knows no tables: :class:`~.registry.Registry` adds the schema, the reads
(:mod:`.registry_reads`) and the writes.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from .storage import RegistryGone, storage_error

log = logging.getLogger("jarvis.registry")
T = TypeVar("T")


def guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Check the file is still ours, and turn storage faults into StorageError."""

    @functools.wraps(method)
    def wrapper(self: Database, *args: Any, **kwargs: Any) -> T:
        self.check_file()
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(exc, self.path) from None

    return wrapper


class Database:
    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._threads = threading.local()  # each thread's slot: its connection and what hangs on it
        self._parked: list[SimpleNamespace] = []  # slots handed on by finished threads (see park)
        self._park_lock = threading.Lock()
        self._identity: tuple[int, int] | None = None

    @property
    def _local(self) -> SimpleNamespace:
        """This thread's slot: ``conn``, ``after`` (callbacks), ``reads`` (the read cache),
        ``unread_changes``."""
        slot: SimpleNamespace | None = getattr(self._threads, "slot", None)
        if slot is None:
            slot = self._threads.slot = SimpleNamespace(conn=None, after=[], reads=None, unread_changes=0)
        return slot

    def remember_file(self) -> None:
        """From now on, refuse to act if the file is no longer this one (see :meth:`check_file`)."""
        stat = self.path.stat()
        self._identity = (stat.st_dev, stat.st_ino)

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = self._local.conn
        if conn is None and self._parked:
            with self._park_lock:
                parked = self._parked.pop() if self._parked else None
            if parked is not None:  # a finished thread's connection, its read cache with it
                self._threads.slot = parked
                return parked.conn  # type: ignore[no-any-return]
        if conn is None:
            # Not bound to its thread: a parked connection moves to the next thread (one at a time).
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            self._local.after = []
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """WAL mode, set once in the file's life. Setting it upgrades a shared lock, which
        SQLite refuses at once (no busy wait: it could deadlock) while another process holds
        the file, as when two first commands create the registry together: retry until the
        busy timeout instead of failing one of them."""
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        """Close this thread's connection, and the parked ones."""
        slot = self._local
        if slot.conn is not None:
            slot.conn.close()
            slot.conn, slot.reads, slot.unread_changes = None, None, 0  # a new connection's stamps start again
        with self._park_lock:
            parked, self._parked = self._parked, []
        for other in parked:
            other.conn.close()

    def park(self) -> None:
        """Hand this thread's connection, with its read cache, to the next thread that needs
        one: a short-lived thread per tick (the dashboard's) then keeps one connection, and
        reads what did not change from its cache instead of a fresh connection each second."""
        slot = self._local
        self._threads.slot = None
        if slot.conn is None:
            return
        if slot.conn.in_transaction:  # never hand on a transaction
            slot.conn.close()
            return
        with self._park_lock:
            self._parked.append(slot)
            extra = self._parked[:-2]  # two are plenty: ticks take turns
            del self._parked[:-2]
        for other in extra:
            other.conn.close()

    def check_file(self) -> None:
        """Refuse to go on if the database file was deleted, emptied or replaced."""
        if self._identity is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise RegistryGone(
                f"the registry {self.path} was deleted while jarvis ran; refusing to act. "
                "Restore it, or rebuild it from the agents' records: jarvis doctor --adopt"
            ) from None
        if (stat.st_dev, stat.st_ino) != self._identity or stat.st_size == 0:
            raise RegistryGone(
                f"the registry {self.path} was replaced or emptied while jarvis ran; refusing "
                "to act on it. Restart the command; if agents are missing: jarvis doctor --adopt"
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken up front so concurrent writers queue, never deadlock.

        Nested calls join the outer one. Callbacks registered with :meth:`after_commit` run
        once the outermost transaction has committed (never after a rollback).
        """
        self.check_file()
        try:
            conn = self.conn
            nested = conn.in_transaction
            if not nested:
                conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(exc, self.path) from None
        if nested:
            yield conn
            return
        self._local.after = []
        try:
            yield conn
        except BaseException as exc:
            self._local.after = []
            self._local.reads = None  # reads cached inside the transaction saw what is undone now
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as again:  # the fault that got us here may also fail the rollback
                log.warning("rollback failed: %s", again)
            if isinstance(exc, sqlite3.Error):
                raise storage_error(exc, self.path) from None
            raise
        try:
            conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            self._local.after = []
            self._local.reads = None
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # a failed COMMIT may already have ended the transaction
            raise storage_error(exc, self.path) from None
        callbacks, self._local.after = self._local.after, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")

    def changes_stamp(self) -> tuple[int, int]:
        """Moves whenever what the reads return may have changed: another connection's commit
        (``data_version``: any process or thread) or a write on this one, except writes
        marked with :meth:`write_unread` (a lease renewal must not make every tick read again)."""
        conn = self.conn
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes - self._local.unread_changes

    def write_unread(self, conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> None:
        """A write to a table the cached reads never show (meta: leases, readings)."""
        before = conn.total_changes
        conn.execute(sql, params)
        if conn is self._local.conn:
            self._local.unread_changes += conn.total_changes - before

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the current transaction commits (now, outside one)."""
        conn = self._local.conn
        if conn is not None and conn.in_transaction:
            self._local.after.append(callback)
        else:
            callback()


__all__ = ["Database", "guarded"]
