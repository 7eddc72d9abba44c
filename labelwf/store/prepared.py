"""Prepared statements: compiled once per dialect by SQLAlchemy, run on the driver connection.

A fire runs five or six small statements; SQLAlchemy's per-execution machinery (execution
context, result set-up, events) costs several times what SQLite needs for each of them. These
statements are compiled once by SQLAlchemy for the database's dialect, and their values go
through the same public bind and result processors of their column types (aware UTC datetimes,
JSON), so what is stored is exactly what the rest of the code reads back through SQLAlchemy.
They run on the driver connection of the caller's SQLAlchemy transaction: same transaction,
same commit, same rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None
_REQUIRED = object()  # a parameter the caller must give


class Prepared:
    """One statement compiled for one dialect, with the processors of its parameters and columns."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None) -> None:
        keys = list(column_keys) if column_keys else None
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
        self.sql = str(compiled)
        self.positional = bool(dialect.positional)
        binds: dict[str, Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        # Literals of the statement itself (status = 'pending') keep the value they were compiled with.
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        names = list(compiled.positiontup or []) if self.positional else list(binds)
        self._plan = [(name, binds[name], fixed.get(name, _REQUIRED)) for name in names]
        columns = statement.selected_columns if isinstance(statement, Select) else getattr(statement, "_returning", ())
        self.columns: list[Processor] = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]

    def _params(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (by name), in the order and shape the driver wants."""
        processed = []
        for name, processor, default in self._plan:
            value = values.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"statement parameter {name!r} has no value")
            processed.append(processor(value) if processor is not None and value is not None else value)
        if self.positional:
            return processed
        return dict(zip((name for name, _, _ in self._plan), processed, strict=True))

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run the statement in ``conn``'s transaction; return the driver cursor."""
        return _driver(conn).execute(self.sql, self._params(values))

    def execute_many(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run the statement once per row, in one driver call."""
        driver = _driver(conn)
        params = [self._params(row) for row in rows]
        if hasattr(driver, "executemany"):
            driver.executemany(self.sql, params)
        else:
            with driver.cursor() as cursor:
                cursor.executemany(self.sql, params)

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run a SELECT (or INSERT … RETURNING) and return its first row, values processed."""
        row = self.execute(conn, values).fetchone()
        return None if row is None else self.process(row)

    def process(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """Convert a driver row to Python values through the column types' result processors."""
        return tuple(p(v) if p is not None and v is not None else v for p, v in zip(self.columns, row, strict=True))


class Savepoint:
    """A savepoint on the driver connection: one item of a batch, undone alone if it fails."""

    def __init__(self, conn: Connection, name: str = "labelwf_item") -> None:
        self._driver, self._name = _driver(conn), name
        self._driver.execute(f"SAVEPOINT {name}")

    def release(self) -> None:
        """Keep what was done since the savepoint."""
        self._driver.execute(f"RELEASE SAVEPOINT {self._name}")

    def rollback(self) -> None:
        """Undo what was done since the savepoint; the enclosing transaction goes on."""
        self._driver.execute(f"ROLLBACK TO SAVEPOINT {self._name}")
        self._driver.execute(f"RELEASE SAVEPOINT {self._name}")


def pipeline(conn: Connection) -> AbstractContextManager[Any]:
    """Send the statements run inside the block without waiting for each result, when the driver can.

    psycopg's pipeline mode (PostgreSQL) sends statements back to back and reads the results when
    one is fetched, or at the end of the block: round trips only where a value is needed. A
    statement's ``rowcount`` is known only then, so callers defer such checks to after the block.
    Other drivers (SQLite has no round trips) run the block as usual.
    """
    driver = _driver(conn)
    return driver.pipeline() if hasattr(driver, "pipeline") else nullcontext()


def pipelines(conn: Connection) -> bool:
    """Whether ``pipeline(conn)`` defers results on this connection."""
    return hasattr(_driver(conn), "pipeline")


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


class Statements:
    """A set of prepared statements per dialect, built on first use."""

    def __init__(self, build: Callable[[Dialect], dict[str, Prepared]]) -> None:
        self._build = build
        self._by_dialect: dict[str, dict[str, Prepared]] = {}

    def for_connection(self, conn: Connection) -> dict[str, Prepared]:
        """Return the statements compiled for ``conn``'s dialect."""
        dialect = conn.dialect
        key = f"{dialect.name}+{dialect.driver}"
        prepared = self._by_dialect.get(key)
        if prepared is None:
            prepared = self._by_dialect[key] = self._build(dialect)
        return prepared
