"""Sign-in through an OpenID Connect provider: an account's e-mail and bound identity, pending sign-ins,
and how each console session was opened.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))
        batch.add_column(sa.Column("oidc_subject", sa.Text))
        batch.create_unique_constraint("uq_account_oidc_subject", ["oidc_subject"])
    with op.batch_alter_table("console_session") as batch:
        batch.add_column(sa.Column("method", sa.String(20), nullable=False, server_default="password"))
    op.create_table(
        "oidc_login",
        sa.Column("state_digest", sa.String(64), nullable=False),
        sa.Column("browser_digest", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_oidc_login")),
    )


def downgrade() -> None:
    op.drop_table("oidc_login")
    with op.batch_alter_table("console_session") as batch:
        batch.drop_column("method")
    with op.batch_alter_table("account") as batch:
        batch.drop_constraint("uq_account_oidc_subject", type_="unique")
        batch.drop_column("oidc_subject")
        batch.drop_column("email")
