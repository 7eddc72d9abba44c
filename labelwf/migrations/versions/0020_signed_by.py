"""Who signed a letter: ``letter.signed_by``, the signatory's name as the letter then says it.

A letter whose directory row names no signatory waits with « [nom du signataire] » in its signature
block; the signature step writes in the name of the account that signs (``letters.dating``), and
the letter's text and HTML are shown and delivered from its frozen bodies, its signature's day and
this name, as they are for the day. Nullable: letters signed before keep what they said. Added in place.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("letter", sa.Column("signed_by", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("letter", "signed_by")
