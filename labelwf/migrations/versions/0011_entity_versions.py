"""Dated versions of an entity's reference data (name, attributes, contacts), each with the chain
event that recorded it and its basis; never updated. The version as registered has no valid_from.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "entity_version",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("attributes", JSONType, nullable=False),
        sa.Column("contacts", JSONType, nullable=False),
        sa.Column("event_id", Id),
        sa.Column("basis", JSONType),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entity_id"], ["entity.id"], name="fk_entity_version_entity_id_entity"),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], name="fk_entity_version_event_id_event"),
        sa.PrimaryKeyConstraint("id", name="pk_entity_version"),
    )
    op.create_index("ix_entity_version_entity_id_valid_from", "entity_version", ["entity_id", "valid_from"])


def downgrade() -> None:
    op.drop_index("ix_entity_version_entity_id_valid_from", table_name="entity_version")
    op.drop_table("entity_version")
