"""Who acted (the authenticated principal) and the letters' checksums in each event; the database's marks.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        # Events written before this revision name no principal and carry no letter checksums.
        batch_op.add_column(sa.Column("principal", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("letters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")))
    op.create_table(
        "mark",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mark")),
    )
    # A database filled before marks existed is a replay's if every instance was created by a replay.
    conn = op.get_bind()
    created = sa.text("SELECT count(*) FROM event WHERE seq = 0")
    by_others = sa.text("SELECT count(*) FROM event WHERE seq = 0 AND actor <> 'replay'")
    if conn.execute(created).scalar() and not conn.execute(by_others).scalar():
        conn.execute(
            sa.text("INSERT INTO mark (name, value, set_at) VALUES ('replay', :value, CURRENT_TIMESTAMP)"),
            {"value": "complete: every instance was created by a replay (marked by schema revision 0004)"},
        )


def downgrade() -> None:
    op.drop_table("mark")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("letters")
        batch_op.drop_column("principal")
