"""The portfolio's deadlines walk one index in their order: ``timer (status, due_at, id)``.

The home page lists the latest late deadlines and the next ones, ordered by their due instant and
then their id. With only ``(status, due_at)`` indexed, PostgreSQL could not read that order from the
index (the id breaks ties) and, at 100,000 poles, joined every instance to the late timers and
sorted them: 12.7 ms, against 0.12 ms once the id ends the index (an ordered scan that stops at the
page's end). SQLite appends the rowid to every index entry and read that order already; the same
index serves it as the former one did, which is dropped.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_timer_status_due_at_id", "timer", ["status", "due_at", "id"])
    op.drop_index("ix_timer_status_due_at", table_name="timer")


def downgrade() -> None:
    op.create_index("ix_timer_status_due_at", "timer", ["status", "due_at"])
    op.drop_index("ix_timer_status_due_at_id", table_name="timer")
