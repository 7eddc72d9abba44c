"""Indexes that serve the search (``store/search.py``) at any size of the table: the folded text's
partial match and the region filter.

SQLite: a full-text table with the trigram tokenizer (``entity_search_fts``, which answers
``LIKE '%vege%'`` from its index) keyed by ``entity_search_key``, a stable integer per entity (an
entity's own rowid may change on VACUUM), both kept by triggers on ``entity``. PostgreSQL: the
pg_trgm extension (created if the role may; if not, the migration goes on without it and says so,
the search then scans) and a trigram GIN index on ``entity.search``. Both: an index on the entity's
region.

Revision ID: 0014
Revises: 0013
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TRIGRAM_INDEX = "ix_entity_search_trgm"  # the name migration 0012 gives it where pg_trgm was there
REGION_INDEX = "ix_entity_region"

_SQLITE = [
    "CREATE TABLE entity_search_key (id INTEGER PRIMARY KEY, entity_id VARCHAR(100) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE entity_search_fts USING fts5(search, tokenize = 'trigram')",
    """CREATE TRIGGER entity_search_insert AFTER INSERT ON entity BEGIN
    INSERT INTO entity_search_key (entity_id) VALUES (NEW.id);
    INSERT INTO entity_search_fts (rowid, search)
        VALUES ((SELECT id FROM entity_search_key WHERE entity_id = NEW.id), NEW.search);
END""",
    """CREATE TRIGGER entity_search_update AFTER UPDATE OF id, search ON entity BEGIN
    UPDATE entity_search_key SET entity_id = NEW.id WHERE entity_id = OLD.id;
    UPDATE entity_search_fts SET search = NEW.search
        WHERE rowid = (SELECT id FROM entity_search_key WHERE entity_id = NEW.id);
END""",
    """CREATE TRIGGER entity_search_delete AFTER DELETE ON entity BEGIN
    DELETE FROM entity_search_fts WHERE rowid = (SELECT id FROM entity_search_key WHERE entity_id = OLD.id);
    DELETE FROM entity_search_key WHERE entity_id = OLD.id;
END""",
    "INSERT INTO entity_search_key (entity_id) SELECT id FROM entity ORDER BY id",
    "INSERT INTO entity_search_fts (rowid, search)"
    " SELECT k.id, e.search FROM entity_search_key k JOIN entity e ON e.id = k.entity_id",
    f"CREATE INDEX {REGION_INDEX} ON entity (json_extract(attributes, '$.region'))",
]


_INSTALLED = (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
)


def _trigram(conn: sa.Connection) -> None:
    """pg_trgm and the trigram index, or a warning saying what is missing and what it costs. The
    extension goes to the schema ``public`` where there is one (it serves the whole database, whichever
    schema labelwf's tables are in); two migrations creating it at once are both satisfied."""
    schema = conn.execute(sa.text(_INSTALLED)).scalar()
    if schema is None:
        public = conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).first()
        try:
            with conn.begin_nested():
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm" + (" SCHEMA public" if public else "")))
        except sa.exc.DBAPIError as exc:
            problem = str(exc.orig).strip().splitlines()[0]
        else:
            problem = ""
        schema = conn.execute(sa.text(_INSTALLED)).scalar()
        if schema is None:
            logging.getLogger("labelwf.migrations").warning(
                "the PostgreSQL extension pg_trgm could not be created (%s): the search scans the entity table"
                " instead of a trigram index; a superuser can run, in this database, CREATE EXTENSION pg_trgm;"
                " CREATE INDEX %s ON entity USING gin (search gin_trgm_ops)",
                problem,
                TRIGRAM_INDEX,
            )
            return
    op.execute(f'CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON entity USING gin (search "{schema}".gin_trgm_ops)')


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        _trigram(conn)
        op.execute(f"CREATE INDEX {REGION_INDEX} ON entity ((attributes ->> 'region'))")
    else:
        for statement in _SQLITE:
            op.execute(statement)


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {REGION_INDEX}")
    if op.get_bind().dialect.name != "postgresql":
        for name in ("entity_search_insert", "entity_search_update", "entity_search_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS entity_search_fts")
        op.execute("DROP TABLE IF EXISTS entity_search_key")
