"""Plans executed over many instances (bulk decisions, deadline moves, migrations): the plan, its
frozen items with each one's outcome, and the plan an event executed.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("principal", sa.String(200)),
        sa.Column("occurred_at", sa.DateTime(timezone=True)),
        sa.Column("spec", JSONType, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
    )
    op.create_table(
        "batch_item",
        sa.Column("batch_id", Id, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("instance_id", Id),
        sa.Column("seen_version", sa.Integer),
        sa.Column("action", JSONType, nullable=False),
        sa.Column("preview", JSONType, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", JSONType),
        sa.Column("event_id", Id),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_batch_item_batch_id_batch")),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_batch_item")),
    )
    op.create_index(op.f("ix_batch_item_batch_id_status_seq"), "batch_item", ["batch_id", "status", "seq"])
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("batch_id", Id))
    op.create_index(op.f("ix_event_batch_id"), "event", ["batch_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_batch_id"), table_name="event")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("batch_id")
    op.drop_index(op.f("ix_batch_item_batch_id_status_seq"), table_name="batch_item")
    op.drop_table("batch_item")
    op.drop_table("batch")
