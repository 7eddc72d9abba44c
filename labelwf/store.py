"""Persistence: the tables, an aware-UTC datetime type, and ``Database`` (connections + transactions).

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` (a committed fire
survives a power cut), a busy timeout, foreign keys on, and write transactions that start with
``BEGIN IMMEDIATE`` so that two writers queue instead of failing half-way. PostgreSQL is reached
through a ``postgresql://`` URL with psycopg 3. The schema is owned by Alembic migrations; a
database at another revision is refused with a message that says to run ``labelwf init``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, Engine

from .errors import ConfigError, SchemaMismatch

SCHEMA_REVISION = "0002"
# Timer statuses: pending until fired, cancelled (the state was left), obsolete or skipped.
PENDING, FIRED, CANCELLED, OBSOLETE, SKIPPED = "pending", "fired", "cancelled", "obsolete", "skipped"


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"refusing to store naive datetime {value.isoformat()}: give it a time zone")
    return value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores the UTC wall time)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME stores, written in one step (a fire binds several).

        ``YYYY-MM-DD HH:MM:SS.ffffff`` of the UTC wall time, exactly SQLAlchemy's SQLite storage
        format (a test compares the two), so that every other query reads and compares it as its own.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else _to_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

entity = sa.Table(
    "entity",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("contacts", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

instance = sa.Table(
    "instance",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity_id", sa.String(100), sa.ForeignKey("entity.id"), nullable=False),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("workflow_version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(100), nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("entered_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("entity_id", "workflow"),
    sa.Index(None, "workflow", "state"),
)

event = sa.Table(
    "event",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", Id, sa.ForeignKey("instance.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("trigger", sa.String(100)),
    sa.Column("source", sa.String(100)),
    sa.Column("dest", sa.String(100), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(50), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("late_by_s", sa.Float),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("instance_id", "seq"),
)

timer = sa.Table(
    "timer",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", Id, sa.ForeignKey("instance.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("trigger", sa.String(100), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("catch_up", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("armed_by_event", Id, sa.ForeignKey("event.id"), nullable=False),
    sa.Column("closed_by_event", Id, sa.ForeignKey("event.id")),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("note", sa.Text),
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "instance_id", "status"),
)

letter = sa.Table(
    "letter",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("instance_id", Id, sa.ForeignKey("instance.id"), nullable=False),
    sa.Column("event_id", Id, sa.ForeignKey("event.id"), nullable=False),
    sa.Column("template", sa.String(100), nullable=False),
    sa.Column("recipient", sa.String(100), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("body_html", sa.Text),
    sa.Column("recipient_label", sa.Text),
    sa.Column("recipient_name", sa.Text),
    sa.Column("recipient_address", sa.Text),
    sa.Column("recipient_email", sa.Text),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("filed_at", UTCDateTime),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("message_id", sa.Text),
    sa.Index(None, "status"),
    sa.Index(None, "instance_id"),
)


def normalize_url(url: str) -> str:
    """Return a SQLAlchemy URL: ``postgresql://`` uses psycopg 3; a bare path means a SQLite file."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("database", url, "a URL such as sqlite:///labelwf.db or postgresql://host/db")
    url = url.strip()
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite://", "postgresql+psycopg://")):
        raise ConfigError("database", url, "a sqlite:/// or postgresql:// URL")
    return url


class Database:
    """A labelwf database: connections, write transactions and the schema check."""

    def __init__(
        self, url: str, *, busy_timeout_ms: int = 10_000, synchronous: str = "FULL", journal_mode: str = "WAL"
    ) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
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

    def _ensure_sqlite_folder(self) -> None:
        path = self.url.split("///", 1)[-1]
        if path and path != ":memory:":
            folder = Path(path).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigError(
                    "database", self.url, f"a SQLite file in an existing folder ({folder} does not exist)"
                )

    def _configure_sqlite(self, busy_timeout_ms: int, synchronous: str, journal_mode: str) -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError("synchronous", synchronous, "OFF, NORMAL, FULL or EXTRA")
        if journal_mode.upper() not in ("WAL", "DELETE", "TRUNCATE", "PERSIST"):
            raise ConfigError("journal_mode", journal_mode, "WAL, DELETE, TRUNCATE or PERSIST")

        @sa_event.listens_for(self.engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA journal_mode={journal_mode}")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa_event.listens_for(self.engine, "begin")
        def on_begin(connection: Connection) -> None:
            readonly = connection.get_execution_options().get("labelwf_read", False)
            # Straight to the driver: this runs once per transaction, on the hot path of every fire.
            connection.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")  # type: ignore[union-attr]

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back whole on any exception."""
        self.check_schema()
        if not self.is_sqlite:
            with self.engine.connect() as pooled, pooled.begin():
                yield pooled
            return
        # SQLite: each thread keeps its write connection (a file has no server to lose it), which
        # spares a pool checkout and return on every fire.
        connection: Connection | None = getattr(self._local, "writer", None)
        if connection is None or connection.closed:
            connection = self._local.writer = self.engine.connect()
            self._writers.append(connection)
        with connection.begin():
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot; never blocks writers on SQLite)."""
        self.check_schema()
        with self.engine.connect() as connection:
            connection = connection.execution_options(labelwf_read=True)
            with connection.begin():
                yield connection

    def revision(self) -> str | None:
        """Return the schema revision stored in the database, or None if it has none."""
        with self.engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

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
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        self._checked = False
        return before, SCHEMA_REVISION

    @property
    def display_url(self) -> str:
        """The URL without its password, for messages."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close every connection (pooled, and the write connections kept by threads)."""
        for connection in self._writers:
            connection.close()
        self._writers.clear()
        self.engine.dispose()
