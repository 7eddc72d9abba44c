"""A database that is busy, read-only or unreachable: reads answer when they can, writes say why they cannot."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labelwf import (
    Database,
    DatabaseBusy,
    DatabaseUnavailable,
    Engine,
    ReadOnlyDatabase,
    import_entities,
    load_workflow,
    queries,
    verify,
)
from labelwf.cli import EXIT_BAD_INPUT, EXIT_BUSY, main
from labelwf.store.database import WriteWouldWait
from tests.conftest import CONFIG_FILE, POLES_CSV, WORKFLOW_FILE
from tests.helpers import OPERATOR

FIRE = ["fire", "enfant", "classify", "--set", "group=3", "--actor", "a", "--reason", "r"]
READS = [["list"], ["show", "enfant"], ["history", "enfant"], ["timers"], ["letters"], ["audit", "verify"]]


def run(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", url, *args], env=env)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite database with the 71 poles imported."""
    path = tmp_path / "labelwf.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    import_entities(Engine(db, load_workflow(WORKFLOW_FILE)), POLES_CSV, actor="import")
    db.dispose()
    return path


@pytest.fixture
def write_lock(sqlite_file: Path) -> Iterator[None]:
    """Another connection (as another process would) holds the write lock for the test's length."""
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE entity SET name = name WHERE id = 'enfant'")
    yield
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.usefixtures("write_lock")
def test_while_another_process_writes_reads_answer_and_a_write_says_busy(sqlite_file: Path) -> None:
    url = f"sqlite:///{sqlite_file}"
    for args in READS:
        result = run(url, *args)
        assert result.exit_code == 0, (args, result.output, result.stderr)
    # A write waits for its busy timeout, then gives up with its own exit code and no traceback.
    result = run(url, *FIRE, env={"LABELWF_BUSY_TIMEOUT_MS": "50"})
    assert result.exit_code == EXIT_BUSY, result.output
    assert "database busy: another process holds the write lock" in result.stderr
    assert "after waiting 50 ms" in result.stderr and "Traceback" not in result.output + result.stderr


@pytest.mark.usefixtures("write_lock")
def test_the_library_raises_database_busy_with_the_timeout_that_ran_out(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}", busy_timeout_ms=20)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    with pytest.raises(DatabaseBusy) as busy:
        engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    assert busy.value.timeout_ms == 20
    assert verify(db).ok  # and reads still work
    db.dispose()


@pytest.mark.usefixtures("write_lock")
def test_write_now_gives_way_at_once_to_another_process_s_writer_and_writes_nothing(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")  # a busy timeout of 10 s: write() would wait it, then say busy
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    with pytest.raises(WriteWouldWait), db.write_now() as conn:
        engine.fire_in(conn, "enfant", "classify", data={"group": 3}, **OPERATOR)
    assert queries.find(engine, "enfant").state == "evaluated"
    db.dispose()


def test_write_now_gives_way_to_a_writer_of_this_process_then_writes(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}", keep_writers=False)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    writing, done = threading.Event(), threading.Event()

    def other_request() -> None:
        with db.write():
            writing.set()
            done.wait(timeout=30)

    thread = threading.Thread(target=other_request)
    thread.start()
    try:
        assert writing.wait(timeout=30)
        with pytest.raises(WriteWouldWait), db.write_now():
            pass
    finally:
        done.set()
        thread.join()
    with db.write_now() as conn:  # the lock is free again: a transaction of its own, committed
        engine.fire_in(conn, "enfant", "classify", data={"group": 3}, **OPERATOR)
    assert queries.find(engine, "enfant").state == "group_3"
    other = sqlite3.connect(sqlite_file, isolation_level=None)  # another process takes the lock
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(WriteWouldWait), db.write_now():  # the kept connection gives way again
        pass
    other.execute("ROLLBACK")
    other.close()
    db.dispose()


@pytest.mark.postgres
def test_write_now_never_begins_on_postgresql_where_writers_wait_on_rows_not_a_file(postgres_schema_url: str) -> None:
    db = Database(postgres_schema_url)
    db.upgrade()
    with pytest.raises(WriteWouldWait), db.write_now():
        pass
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def read_only_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with the 71 poles, opened read-only (SQLite's mode=ro; PostgreSQL read-only sessions)."""
    if request.param == "sqlite":
        path = request.getfixturevalue("sqlite_file")
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    url = str(request.getfixturevalue("postgres_schema_url"))
    db = Database(url)
    db.upgrade()
    import_entities(Engine(db, load_workflow(WORKFLOW_FILE)), POLES_CSV, actor="import")
    db.dispose()
    return url + "%20-cdefault_transaction_read_only%3Don"


def test_a_read_only_database_answers_reads_and_says_why_a_write_cannot(read_only_url: str) -> None:
    for args in READS:
        result = run(read_only_url, *args)
        assert result.exit_code == 0, (args, result.output, result.stderr)
    result = run(read_only_url, *FIRE)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "is read-only here" in result.stderr and "Traceback" not in result.output + result.stderr
    engine = Engine(Database(read_only_url), load_workflow(WORKFLOW_FILE))
    with pytest.raises(ReadOnlyDatabase):
        engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    engine.db.dispose()


def test_a_database_that_cannot_be_opened_is_unavailable_not_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    db = Database(f"sqlite:///{folder}")  # a folder, not a file
    with pytest.raises(DatabaseUnavailable, match="cannot use"):
        db.check_schema()
    result = run(f"sqlite:///{folder}", "list")
    assert result.exit_code == EXIT_BAD_INPUT and "cannot use" in result.stderr
