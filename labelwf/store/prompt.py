"""Writes that begin only if nothing waits: ``Database.write_now``'s transaction, and the WAL
checkpoints its commits leave to a thread of their own.

A server's event loop may write on SQLite only when it can do so without waiting for a lock
(``WriteWouldWait`` otherwise, before anything is done). Its commits then append to the WAL and
wait for that fsync alone: SQLite's automatic checkpoint, which copies the WAL back into the
database file (a thousand pages and two more fsyncs) inside the commit that crosses its
threshold, is turned off on that connection, and ``WalCheckpoints`` runs a passive checkpoint
on a thread every ``CHECKPOINT_EVERY`` such commits, which waits for no reader or writer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from sqlalchemy.engine import Connection, Engine, RootTransaction

_log = logging.getLogger("labelwf.store")
CHECKPOINT_EVERY = 100  # prompt commits between two checkpoints: a few hundred pages of WAL each time


class Database(Protocol):
    """What a prompt write and the checkpoints need of their ``Database`` (which imports this module)."""

    engine: Engine
    driver_errors: tuple[type[Exception], ...]
    checkpoints: WalCheckpoints

    @property
    def display_url(self) -> str: ...

    def wrap(self, exc: BaseException) -> Exception: ...


class WriteWouldWait(Exception):
    """``Database.write_now`` could not begin at once: another writer holds the lock (or the database is
    not a SQLite file in WAL mode). Raised before anything is done; the caller writes by ``write()``."""


class PromptWrite:
    """A write transaction begun by ``Database.write_now``: ``with`` it, as ``Database.write()``
    (committed when the block ends, rolled back whole on any exception, a driver error wrapped into
    a ``DatabaseError``); or work on ``connection`` and end it by ``commit()`` or ``rollback()``.
    Either end releases the writer lock; a failure of either discards the connection, so that no
    transaction it left open can hold SQLite's lock."""

    def __init__(
        self, db: Database, connection: Connection, transaction: RootTransaction, lock: threading.Lock
    ) -> None:
        self.db, self.connection = db, connection
        self._transaction, self._lock = transaction, lock

    def __enter__(self) -> Connection:
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None) -> None:
        if error is None:
            self.commit()
            return
        self.rollback()
        if isinstance(error, self.db.driver_errors):
            raise self.db.wrap(error) from error

    def commit(self) -> None:
        """Commit (the WAL's fsync, no checkpoint); a driver error is wrapped into a ``DatabaseError``."""
        self._end(self._transaction.commit)
        self.db.checkpoints.committed()

    def rollback(self) -> None:
        """Roll back: nothing of the transaction is kept."""
        self._end(self._transaction.rollback)

    def _end(self, how: Callable[[], None]) -> None:
        try:
            how()
        except self.db.driver_errors as exc:
            self.connection.invalidate()
            raise self.db.wrap(exc) from exc
        except BaseException:
            self.connection.invalidate()
            raise
        finally:
            self._lock.release()


class WalCheckpoints:
    """Passive WAL checkpoints on a thread of their own, one at a time, every ``CHECKPOINT_EVERY``
    prompt commits. Other writers (``write()``: worker threads, the daemon, the CLI) keep SQLite's
    automatic checkpoint. A failed checkpoint is logged: the next one copies what it left."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._commits = 0
        self._running: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self) -> None:
        """Count a prompt commit; start a checkpoint when they are due and none runs."""
        with self._lock:
            self._commits += 1
            if self._commits < CHECKPOINT_EVERY or (self._running is not None and self._running.is_alive()):
                return
            self._commits = 0
            self._running = threading.Thread(target=self._checkpoint, name="labelwf-wal-checkpoint", daemon=True)
            self._running.start()

    def wait(self) -> None:
        """Wait for the checkpoint under way, if any (before the connections close)."""
        with self._lock:
            running = self._running
        if running is not None:
            running.join()

    def _checkpoint(self) -> None:
        try:
            connection = self.db.engine.raw_connection()  # outside any transaction, where a checkpoint runs
            try:
                connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
            finally:
                connection.close()
        except self.db.driver_errors as exc:
            _log.warning("WAL checkpoint of %s failed: %s", self.db.display_url, self.db.wrap(exc))
