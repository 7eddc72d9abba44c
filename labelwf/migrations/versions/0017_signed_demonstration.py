"""A letter signed with a demonstration certificate: ``letter.signed_demonstration``.

What such a letter says (« Signé avec un certificat de démonstration, sans valeur juridique »)
is written into its text and HTML as they are shown and delivered, from its frozen bodies, its
signature's day and this mark, as the day is. Nullable: letters signed before carry none, and
``letters check`` finds those among them that a demonstration certificate signed. Added in place.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("letter", sa.Column("signed_demonstration", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("letter", "signed_demonstration")
