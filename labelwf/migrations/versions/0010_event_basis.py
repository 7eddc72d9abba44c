"""Provenance on every event: its basis (``record`` with a source key, ``assumed`` with the
assumption's text, or ``synthetic``), hashed with it (formats 8 and 9).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("basis", JSONType))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("basis")
