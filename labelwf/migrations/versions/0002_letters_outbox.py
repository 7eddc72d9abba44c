"""Letters as artefacts: HTML copy, resolved recipient, delivery state.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recipient_label", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recipient_name", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recipient_address", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recipient_email", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("letter", schema=None) as batch_op:
        for column in (
            "message_id",
            "sent_at",
            "filed_at",
            "next_attempt_at",
            "recipient_email",
            "recipient_address",
            "recipient_name",
            "recipient_label",
            "body_html",
        ):
            batch_op.drop_column(column)
