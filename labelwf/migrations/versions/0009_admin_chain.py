"""The administrative acts' chain (accounts, tokens, plan executions) and its head; who created each
token and who executed each plan; pending OIDC sign-ins leave the database (a sealed cookie holds them).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "admin_event",
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("hash_format", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_admin_event")),
    )
    head = op.create_table(
        "admin_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS}])
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("created_by", sa.String(200)))
    with op.batch_alter_table("batch") as batch:
        batch.add_column(sa.Column("executed_by", sa.String(200)))
    op.drop_table("oidc_login")


def downgrade() -> None:
    op.create_table(
        "oidc_login",
        sa.Column("state_digest", sa.String(64), nullable=False),
        sa.Column("browser_digest", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_oidc_login")),
    )
    with op.batch_alter_table("batch") as batch:
        batch.drop_column("executed_by")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("created_by")
    op.drop_table("admin_head")
    op.drop_table("admin_event")
