"""A database that is busy, read-only or unreachable: reads answer when they can, writes say why they cannot."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labelwf import (
    Database,
    DatabaseBusy,
    DatabaseError,
    DatabaseUnavailable,
    Engine,
    ReadOnlyDatabase,
    import_entities,
    load_workflow,
    verify,
)
from labelwf.cli import EXIT_BAD_INPUT, EXIT_BUSY, main
from labelwf.engine import queries
from labelwf.store import WriteWouldWait, prompt
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


def test_write_now_gives_way_to_another_process_s_writer_and_holds_nothing_after(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}", keep_writers=False, busy_timeout_ms=50)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    other = sqlite3.connect(sqlite_file, isolation_level=None)  # another process writes
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(WriteWouldWait):
        db.write_now()
    assert queries.find(engine, "enfant").state == "evaluated"
    other.execute("ROLLBACK")
    other.close()
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)  # nothing of this process holds the lock
    assert queries.find(engine, "enfant").state == "group_3"
    db.dispose()


def test_write_now_gives_way_to_a_writer_of_this_process(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}", keep_writers=False)
    writing, done = threading.Event(), threading.Event()

    def other_request() -> None:
        with db.write():
            writing.set()
            done.wait(timeout=30)

    thread = threading.Thread(target=other_request)
    thread.start()
    try:
        assert writing.wait(timeout=30)
        with pytest.raises(WriteWouldWait):
            db.write_now()
    finally:
        done.set()
        thread.join()
    db.dispose()


def test_a_prompt_write_commits_or_rolls_back_whole_on_any_thread_and_frees_the_lock(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}", keep_writers=False)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    prompt = db.write_now()
    engine.fire_in(prompt.connection, "enfant", "classify", data={"group": 3}, **OPERATOR)
    prompt.rollback()
    assert queries.find(engine, "enfant").state == "evaluated"
    prompt = db.write_now()
    engine.fire_in(prompt.connection, "enfant", "classify", data={"group": 3}, **OPERATOR)
    committer = threading.Thread(target=prompt.commit)  # as a server commits it, on a worker thread
    committer.start()
    committer.join()
    assert queries.find(engine, "enfant").state == "group_3"
    engine.fire("pass", "classify", data={"group": 3}, **OPERATOR)  # write() takes the lock: it was freed
    other = sqlite3.connect(sqlite_file, isolation_level=None)  # and another process can write too
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(WriteWouldWait):  # the kept connection gives way to it
        db.write_now()
    other.execute("ROLLBACK")
    other.close()
    for _ in range(20):  # one kept connection, whatever the thread: the pool lends one and keeps the rest
        worker = threading.Thread(target=lambda: db.write_now().rollback())
        worker.start()
        worker.join()
    assert db.engine.pool.checkedout() <= 1  # type: ignore[attr-defined]
    db.dispose()


def test_prompt_commits_leave_copying_the_wal_back_to_a_checkpoint_thread(
    sqlite_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prompt, "CHECKPOINT_EVERY", 5)
    db = Database(f"sqlite:///{sqlite_file}", keep_writers=False)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    db.check_schema()
    with closing(sqlite3.connect(sqlite_file)) as other:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sqlite_file.stat().st_size

    def fire(entity: str) -> None:
        written = db.write_now()
        engine.fire_in(written.connection, entity, "classify", data={"group": 3}, **OPERATOR)
        written.commit()

    for entity in ("enfant", "pass", "aerospace-valley", "vegepolys"):
        fire(entity)
    db.checkpoints.wait()
    assert sqlite_file.stat().st_size == size  # in the WAL only: no commit copied it back
    fire("emc2")  # the fifth: a checkpoint thread copies the WAL into the database file
    db.checkpoints.wait()
    assert sqlite_file.stat().st_size > size
    assert [queries.find(engine, e).state for e in ("enfant", "emc2")] == ["group_3", "group_3"]
    db.dispose()


def test_a_prompt_write_that_fails_is_rolled_back_whole_and_says_why(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}", keep_writers=False)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    with pytest.raises(DatabaseError), db.write_now() as conn:  # not the driver's own error
        engine.fire_in(conn, "enfant", "classify", data={"group": 3}, **OPERATOR)
        conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")
    assert queries.find(engine, "enfant").state == "evaluated"
    with db.write_now() as conn:  # the lock was freed, the connection serves again
        engine.fire_in(conn, "enfant", "classify", data={"group": 3}, **OPERATOR)
    assert queries.find(engine, "enfant").state == "group_3"
    db.dispose()


def test_write_now_gives_way_on_a_sqlite_file_outside_wal_where_a_commit_waits_for_readers(
    sqlite_file: Path,
) -> None:
    db = Database(f"sqlite:///{sqlite_file}", journal_mode="DELETE", keep_writers=False)
    engine = Engine(db, load_workflow(WORKFLOW_FILE))
    with pytest.raises(WriteWouldWait):
        db.write_now()
    engine.fire("enfant", "classify", data={"group": 3}, **OPERATOR)  # write() serves it
    assert queries.find(engine, "enfant").state == "group_3"
    db.dispose()


@pytest.mark.postgres
def test_write_now_never_begins_on_postgresql_where_writers_wait_on_rows_not_a_file(postgres_schema_url: str) -> None:
    db = Database(postgres_schema_url)
    db.upgrade()
    with pytest.raises(WriteWouldWait):
        db.write_now()
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
