"""Shared fixtures: the same contract tests run on SQLite and on PostgreSQL.

PostgreSQL is reached at LABELWF_TEST_POSTGRES_URL (default postgresql://127.0.0.1:5432/test);
each test gets a schema of its own. Without a server those tests are skipped with the reason,
unless LABELWF_REQUIRE_POSTGRES=1 (as in CI), where a missing server is an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Database, Engine, FrozenClock, Workflow, import_entities, load_workflow

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILE = ROOT / "workflows" / "poles-2008.yaml"
POLES_CSV = ROOT / "data" / "poles_2008.csv"
CONFIG_FILE = ROOT / "config.yaml"
POSTGRES_URL = os.environ.get("LABELWF_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
START = datetime(2008, 6, 18, 8, 0, tzinfo=UTC)

_postgres_problem: str | None = None
_postgres_checked = False


def postgres_unavailable() -> str | None:
    """Return why PostgreSQL cannot be used here, or None when it can (checked once)."""
    global _postgres_checked, _postgres_problem
    if not _postgres_checked:
        _postgres_checked = True
        url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # any failure to connect means "no server here"
            _postgres_problem = f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    return _postgres_problem


def require_postgres() -> None:
    """Skip (or fail, when LABELWF_REQUIRE_POSTGRES=1) if there is no PostgreSQL server."""
    problem = postgres_unavailable()
    if problem:
        if os.environ.get("LABELWF_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"LABELWF_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(f"{problem}; set LABELWF_TEST_POSTGRES_URL to run the PostgreSQL tests")


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'labelwf.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated, empty database."""
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def workflow() -> Workflow:
    """The shipped 2008 programme."""
    return load_workflow(WORKFLOW_FILE)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock at the publication of the 2008 evaluation, moved only by tests."""
    return FrozenClock(START)


@pytest.fixture
def engine(db: Database, workflow: Workflow, clock: FrozenClock) -> Engine:
    """An engine over the 2008 programme on a fresh database."""
    return Engine(db, workflow, clock=clock)


@pytest.fixture
def poles(engine: Engine) -> Engine:
    """The engine with the 71 shipped poles imported, all in state 'evaluated'."""
    import_entities(engine, POLES_CSV, actor="import", reason="test set-up")
    return engine


@pytest.fixture(autouse=True)
def audit_key_outside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's `init` creates its audit key (and its demonstration certificates) in the test's folder,
    never in the project; checkpoints go to the test's folder too, never to the user's state folder."""
    monkeypatch.setenv("LABELWF_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("LABELWF_LOCALE", "en")  # the messages' source text; tests/test_i18n.py says them in French
    # Delivery, the console and the API are tested on letters that go out as written; the signature
    # step's tests (and the README's, which runs the shipped configuration) set it as shipped: required.
    monkeypatch.setenv("LABELWF_SIGNATURE", "off")
    monkeypatch.setenv("LABELWF_SIGNATURE_CERTIFICATES", str(tmp_path / "certificates"))  # never the project's


@pytest.fixture
def programme(tmp_path: Path) -> Path:
    """A copy of the shipped workflows and templates that a test may break (a test module may name
    another fixture ``programme``: the replayed programme's tests do)."""
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path
