"""The entity's search text: id, name, region, former and later names and the names of its earlier
versions, lower-case and without accents, so the console and the API find "Végépolys" from "vege".
Backfilled here; on PostgreSQL with pg_trgm available, a trigram index serves its LIKE '%…%'.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from labelwf.store.search import search_text

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TRIGRAM_INDEX = "ix_entity_search_trgm"


def upgrade() -> None:
    with op.batch_alter_table("entity") as table:
        table.add_column(sa.Column("search", sa.Text, nullable=False, server_default=""))
    conn = op.get_bind()
    entity = sa.table(
        "entity", sa.column("id"), sa.column("name"), sa.column("attributes", sa.JSON), sa.column("search")
    )
    version = sa.table("entity_version", sa.column("entity_id"), sa.column("name"))
    names: dict[str, list[str]] = {}
    for entity_id, name in conn.execute(sa.select(version.c.entity_id, version.c.name)):
        names.setdefault(str(entity_id), []).append(str(name))
    rows = conn.execute(sa.select(entity.c.id, entity.c.name, entity.c.attributes)).all()
    for entity_id, name, attributes in rows:
        text = search_text(str(entity_id), str(name), attributes or {}, names.get(str(entity_id), ()))
        conn.execute(entity.update().where(entity.c.id == entity_id).values(search=text))
    if conn.dialect.name == "postgresql":
        schema = conn.execute(
            sa.text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE e.extname = 'pg_trgm'"
            )
        ).scalar()
        if schema is not None:  # installing an extension needs rights labelwf's role may not have (see 0014)
            op.execute(f'CREATE INDEX {TRIGRAM_INDEX} ON entity USING gin (search "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    with op.batch_alter_table("entity") as table:
        table.drop_column("search")
