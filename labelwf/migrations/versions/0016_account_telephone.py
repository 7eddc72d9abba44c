"""An account's telephone: the number the letters of its decisions give under « Affaire suivie par ».

``account.telephone``, nullable: accounts made before have none, and their letters give their
name and e-mail alone. Added in place (no table is rebuilt).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("telephone", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("account", "telephone")
