"""The signature step: a letter waits « à signer » for a post, and keeps the PDF its signatory signed.

``letter.post``: the post that must sign it (the dated directory's, for its kind of decision at the
decision's date); ``letter.signed_at``, ``signed_pdf`` and ``pdf_sha256``: when it was signed, the
signed PDF (the artefact delivered, byte for byte) and its sha256 (indexed: ``letters verify``
finds the letter by it). ``account.post``: the post a ``signatory`` account signs for. Columns are
added in place (no table is rebuilt), all nullable: letters queued before stay as they were.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("letter", sa.Column("post", sa.String(100), nullable=True))
    op.add_column("letter", sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("letter", sa.Column("signed_pdf", sa.LargeBinary(), nullable=True))
    op.add_column("letter", sa.Column("pdf_sha256", sa.String(64), nullable=True))
    op.create_index("ix_letter_pdf_sha256", "letter", ["pdf_sha256"])
    op.create_index("ix_letter_post_status", "letter", ["post", "status"])
    op.add_column("account", sa.Column("post", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("account", "post")
    op.drop_index("ix_letter_post_status", "letter")
    op.drop_index("ix_letter_pdf_sha256", "letter")
    for column in ("pdf_sha256", "signed_pdf", "signed_at", "post"):
        op.drop_column("letter", column)
