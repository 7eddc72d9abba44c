"""``Database``: connections, read and write transactions, the schema check, and driver errors wrapped.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` (a committed fire
survives a power cut), a busy timeout, foreign keys on, and write transactions that start with
``BEGIN IMMEDIATE`` so that two writers queue instead of failing half-way. Reads start a plain
``BEGIN``: they take no lock, so they answer while another process writes, and they work on a
database opened read-only (``sqlite:///file:labelwf.db?mode=ro&uri=true``, or a file the process
may not write). PostgreSQL is reached through a ``postgresql://`` URL with psycopg 3; its reads
run as ``READ ONLY`` transactions.

``write_now()`` begins a write only if no writer holds the lock at that instant (``WriteWouldWait``
otherwise), for a server's event loop, which must never wait for a lock.

Every driver error that leaves ``read()``, ``write()``, ``write_now()`` or ``upgrade()`` is a ``DatabaseError``
(``DatabaseBusy``, ``DatabaseUnavailable``, ``ReadOnlyDatabase``), never the driver's own class.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine

from ..config import masked_url
from ..errors import (
    ConfigError,
    DatabaseBusy,
    DatabaseError,
    DatabaseUnavailable,
    ReadOnlyDatabase,
    SchemaMismatch,
)
from .prompt import PromptWrite, WalCheckpoints, WriteWouldWait
from .schema import SCHEMA_REVISION

_READ = "labelwf_read"  # execution option of read transactions (SQLite: BEGIN instead of BEGIN IMMEDIATE)
_SQLITE_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY"}
_PG_READ_ONLY = {"25006"}  # read_only_sql_transaction
_PG_BUSY = {"55P03", "40001", "40P01"}  # lock_not_available, serialization_failure, deadlock_detected


def normalize_url(url: str) -> str:
    """Return a SQLAlchemy URL: ``postgresql://`` uses psycopg 3; a bare path means a SQLite file."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("database", url, "a URL such as sqlite:///labelwf.db or postgresql://host/db")
    url = url.strip()
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite://", "postgresql+psycopg://")):
        # The URL is repeated without its password: an error message ends up in logs and terminals.
        raise ConfigError("database", masked_url(url), "a sqlite:/// or postgresql:// URL")
    try:
        sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # a port that is not a number, an unclosed [ …
        raise ConfigError(
            "database", masked_url(url), "a URL such as postgresql://user:password@host:5432/db"
        ) from None
    return url


class Database:
    """A labelwf database: connections, read and write transactions and the schema check."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 10_000,
        synchronous: str = "FULL",
        journal_mode: str = "WAL",
        keep_writers: bool = True,
    ) -> None:
        """``keep_writers``: on SQLite, each thread keeps its write connection (a CLI, a daemon); a
        server of many threads sets it False: writes then take a pooled connection, one at a time
        (``write_now`` being one of them)."""
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.busy_timeout_ms = busy_timeout_ms
        if self.is_sqlite:
            self._ensure_sqlite_folder()
            # Every transaction is ended explicitly (commit or rollback), so the pool need not reset on return.
            self.engine: Engine = sa.create_engine(
                self.url, connect_args={"timeout": busy_timeout_ms / 1000}, pool_reset_on_return=None
            )
            self._configure_sqlite(busy_timeout_ms, synchronous, journal_mode)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        self._checked = False
        self._local = threading.local()
        self._writers: list[Connection] = []
        self._one_writer = threading.Lock()
        self._prompt: Connection | None = None  # write_now's connection, used under _one_writer only
        self._prompt_refused = False
        self.checkpoints = WalCheckpoints(self)
        self.keep_writers = keep_writers
        dbapi = self.engine.dialect.loaded_dbapi
        #: What a driver raises, raw (the fire path runs on the driver connection) or wrapped by SQLAlchemy.
        # A pool that has no connection to give in time is busy too (sqlalchemy.exc.TimeoutError).
        self.driver_errors: tuple[type[Exception], ...] = (
            sqlalchemy.exc.DBAPIError,
            dbapi.Error,
            sqlalchemy.exc.TimeoutError,
        )

    def _ensure_sqlite_folder(self) -> None:
        """Refuse a SQLite file in a missing folder; create a missing file readable by its owner only.

        SQLite would create it with the process's umask (0644 as a rule), and gives its ``-wal``
        and ``-shm`` files the mode of the database file: the decisions, names and letters it
        holds are then readable by every account of the machine. An existing file keeps its mode.
        """
        if "///" not in self.url:
            return  # sqlite:// is a database in memory
        path, _, query = self.url.split("///", 1)[-1].partition("?")
        if path.startswith("file:"):
            path = path[len("file:") :]
        if path and path != ":memory:":
            file = Path(path).expanduser().resolve()
            if not file.parent.is_dir():
                raise ConfigError(
                    "database", self.display_url, f"a SQLite file in an existing folder ({file.parent} does not exist)"
                )
            if "mode=ro" not in query and "mode=memory" not in query:
                # It may exist (its mode is then its owner's), or the folder not be ours: SQLite says why.
                with suppress(OSError):
                    os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    def _configure_sqlite(self, busy_timeout_ms: int, synchronous: str, journal_mode: str) -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError("synchronous", synchronous, "OFF, NORMAL, FULL or EXTRA")
        if journal_mode.upper() not in ("WAL", "DELETE", "TRUNCATE", "PERSIST"):
            raise ConfigError("journal_mode", journal_mode, "WAL, DELETE, TRUNCATE or PERSIST")
        wanted_mode = journal_mode.lower()

        @sa_event.listens_for(self.engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            # Changing the journal mode writes; a database opened read-only keeps the one it has.
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != wanted_mode:
                try:
                    cursor.execute(f"PRAGMA journal_mode={journal_mode}")
                except dbapi_connection.OperationalError as exc:
                    if getattr(exc, "sqlite_errorname", "") not in ("SQLITE_READONLY", *_SQLITE_BUSY):
                        raise
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa_event.listens_for(self.engine, "begin")
        def on_begin(connection: Connection) -> None:
            readonly = connection.get_execution_options().get(_READ, False)
            # Straight to the driver: this runs once per transaction, on the hot path of every fire.
            connection.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")  # type: ignore[union-attr]

    # -- transactions ------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back whole on any exception."""
        try:
            self.check_schema()
            if not self.is_sqlite:
                with self.engine.connect() as pooled, pooled.begin():
                    yield pooled
                return
            if not self.keep_writers:
                # A server's many threads: one writer at a time in this process (SQLite has one writer
                # anyway), on a pooled connection, waiting at most the busy timeout for the others.
                if not self._one_writer.acquire(timeout=self.busy_timeout_ms / 1000):
                    raise DatabaseBusy(self.display_url, "another request of this process is writing", None)
                try:
                    with self.engine.connect() as pooled, pooled.begin():
                        yield pooled
                finally:
                    self._one_writer.release()
                return
            # SQLite: each thread keeps its write connection (a file has no server to lose it), which
            # spares a pool checkout and return on every fire.
            connection: Connection | None = getattr(self._local, "writer", None)
            if connection is None or connection.closed:
                connection = self._local.writer = self.engine.connect()
                self._writers.append(connection)
            with connection.begin():
                yield connection
        except self.driver_errors as exc:
            raise self.wrap(exc) from exc

    def write_now(self) -> PromptWrite:
        """A write transaction begun only if no writer holds the lock at this instant, else
        ``WriteWouldWait`` before anything is done (always on PostgreSQL, and on a SQLite file
        that is not in WAL mode, where a commit would have to wait for readers).

        A server fires this way on its event loop: the fire spares the hand-over to a worker thread
        and back, and the loop never waits for a lock. The transaction runs on one connection kept
        for this purpose, with a busy timeout of 0 (its ``BEGIN IMMEDIATE`` fails at once where
        ``write()`` would wait) and no automatic checkpoint (``prompt.WalCheckpoints`` runs them on a
        thread), used only by the holder of this process's writer lock."""
        if not self.is_sqlite or not self._one_writer.acquire(blocking=False):
            raise WriteWouldWait
        try:
            self.check_schema()
            connection = self._prompt_connection()
            if connection is None:
                raise WriteWouldWait
            try:
                transaction = connection.begin()
            except self.driver_errors as exc:
                if getattr(getattr(exc, "orig", exc), "sqlite_errorname", "") in _SQLITE_BUSY:
                    raise WriteWouldWait from exc
                raise
        except self.driver_errors as exc:
            self._one_writer.release()
            raise self.wrap(exc) from exc
        except BaseException:
            self._one_writer.release()
            raise
        return PromptWrite(self, connection, transaction, self._one_writer)

    def _prompt_connection(self) -> Connection | None:
        """The connection of ``write_now`` (made on first use), or None where it cannot serve: the
        file is not in WAL mode. Called with the writer lock held."""
        connection = self._prompt
        if connection is not None and not (connection.closed or connection.invalidated):
            return connection
        if connection is not None:  # discarded after a failed commit or rollback: give its place back
            connection.close()
            self._prompt = None
        if self._prompt_refused:
            return None
        connection = self.engine.connect()
        driver = connection.connection.driver_connection
        assert driver is not None
        if str(driver.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            connection.close()
            self._prompt_refused = True
            return None
        driver.execute("PRAGMA busy_timeout=0")
        driver.execute("PRAGMA wal_autocheckpoint=0")  # its commits never copy the WAL back: see WalCheckpoints
        self._prompt = connection
        return connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent snapshot that takes no write lock."""
        try:
            self.check_schema()
            with self._reader() as connection:
                yield connection
        except self.driver_errors as exc:
            raise self.wrap(exc) from exc

    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        with self.engine.connect() as pooled:
            connection = pooled.execution_options(**{_READ: True})
            with connection.begin():
                if not self.is_sqlite:
                    # Not the driver's read_only flag: SQLAlchemy resets it to "read write" on the pooled
                    # connection, which would then override a server's default_transaction_read_only.
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield connection

    def wrap(self, exc: BaseException) -> DatabaseError:
        """The ``DatabaseError`` that says what a driver error means for the user."""
        orig = getattr(exc, "orig", None) or exc
        detail = " ".join(str(orig).split()) or type(orig).__name__
        url = self.display_url
        if self.is_sqlite:
            name = getattr(orig, "sqlite_errorname", "")
            if name in _SQLITE_BUSY:
                return DatabaseBusy(url, detail, self.busy_timeout_ms)
            if name.startswith("SQLITE_READONLY"):
                return ReadOnlyDatabase(url, detail)
            if name.startswith(("SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_PERM", "SQLITE_AUTH")):
                return DatabaseUnavailable(url, detail)
            return DatabaseError(url, detail)
        state = getattr(orig, "sqlstate", None)
        if state in _PG_READ_ONLY:
            return ReadOnlyDatabase(url, detail)
        if state in _PG_BUSY:
            return DatabaseBusy(url, detail, None)
        if state is None or str(state).startswith("08") or isinstance(exc, sqlalchemy.exc.OperationalError):
            return DatabaseUnavailable(url, detail)  # no SQLSTATE: the connection itself failed
        return DatabaseError(url, detail)

    # -- schema ----------------------------------------------------------------------------------

    def revision(self) -> str | None:
        """Return the schema revision stored in the database, or None if it has none (a read)."""
        try:
            with self._reader() as connection:
                if not sa.inspect(connection).has_table("alembic_version"):
                    return None
                found = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                return None if found is None else str(found)
        except self.driver_errors as exc:
            raise self.wrap(exc) from exc

    def check_schema(self) -> None:
        """Raise ``SchemaMismatch`` unless the database is at this code's schema revision (checked once)."""
        if self._checked:
            return
        found = self.revision()
        if found != SCHEMA_REVISION:
            raise SchemaMismatch(self.display_url, found, SCHEMA_REVISION)
        self._checked = True

    def upgrade(self) -> tuple[str | None, str]:
        """Create or migrate the schema to this code's revision; return (revision before, after)."""
        from alembic import command
        from alembic.config import Config

        before = self.revision()
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent.parent / "migrations"))
        try:
            with self.engine.connect() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
        except self.driver_errors as exc:
            raise self.wrap(exc) from exc
        self._checked = False
        return before, SCHEMA_REVISION

    @property
    def display_url(self) -> str:
        """The URL without its password (in the authority or as a ``password=`` parameter), for messages."""
        return masked_url(self.url)

    def dispose(self) -> None:
        """Close every connection (pooled, and the write connections kept by threads and write_now)."""
        for connection in self._writers:
            connection.close()
        self._writers.clear()
        self.checkpoints.wait()
        if self._prompt is not None:
            self._prompt.close()
            self._prompt = None
        self.engine.dispose()
