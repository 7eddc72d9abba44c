"""Keyset indexes for paged listings; the canonical form of each event's hash.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        # Events written before this revision were hashed in the first canonical form.
        batch_op.add_column(sa.Column("hash_format", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_workflow_state"))
        batch_op.create_index(batch_op.f("ix_instance_workflow_entity_id"), ["workflow", "entity_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_instance_workflow_state_entity_id"), ["workflow", "state", "entity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_workflow_state_entity_id"))
        batch_op.drop_index(batch_op.f("ix_instance_workflow_entity_id"))
        batch_op.create_index(batch_op.f("ix_instance_workflow_state"), ["workflow", "state"], unique=False)
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("hash_format")
