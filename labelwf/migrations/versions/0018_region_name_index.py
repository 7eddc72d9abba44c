"""The search's pages by region walk one index in their order: ``entity (region, name, id)``.

A region matches thousands of poles at 100,000 of them; with the region alone indexed (migration
0014), the first page read every match, joined its instance and sorted them all before keeping 50.
With the name and the id after the region, the page sorted by name reads its rows in order from the
index and stops at the page's end, and the count of a region reads the index without the table.
This index serves the region's filter and the skip scan of the regions' menu as the former one did,
which is dropped.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEX = "ix_entity_region_name"
FORMER = "ix_entity_region"  # migration 0014's


def _region() -> str:
    """The region as ``store/search.py`` spells it, for its index to serve that expression."""
    if op.get_bind().dialect.name == "postgresql":
        return "(attributes ->> 'region')"
    return "json_extract(attributes, '$.region')"


def upgrade() -> None:
    op.execute(f"CREATE INDEX {INDEX} ON entity ({_region()}, name, id)")
    op.execute(f"DROP INDEX IF EXISTS {FORMER}")


def downgrade() -> None:
    op.execute(f"CREATE INDEX {FORMER} ON entity ({_region()})")
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
