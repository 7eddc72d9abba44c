"""Counts of instances per workflow version and state, kept by triggers on ``instance`` in the
transaction of every change (``store/counters.py``), and filled here from the rows already there.
The console's home page reads them instead of grouping the whole instance table.

A later migration that rebuilds ``instance`` (a batch ALTER on SQLite copies the table) must create
these triggers again: the test of the counters runs on the newest schema and would fail without them.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SHARDS = 32  # PostgreSQL: each connection adds to the rows of its backend pid modulo this

_SQLITE_UPSERT = """
    INSERT INTO instance_count (workflow, workflow_version, state, shard, n)
    VALUES ({row}.workflow, {row}.workflow_version, {row}.state, 0, {delta})
    ON CONFLICT (workflow, workflow_version, state, shard) DO UPDATE SET n = n + {delta};"""
_SQLITE = [
    f"""CREATE TRIGGER instance_count_insert AFTER INSERT ON instance BEGIN
    {_SQLITE_UPSERT.format(row="NEW", delta=1)}
END""",
    f"""CREATE TRIGGER instance_count_update AFTER UPDATE OF workflow, workflow_version, state ON instance
WHEN OLD.workflow IS NOT NEW.workflow OR OLD.workflow_version IS NOT NEW.workflow_version
    OR OLD.state IS NOT NEW.state
BEGIN
    {_SQLITE_UPSERT.format(row="OLD", delta=-1)}
    {_SQLITE_UPSERT.format(row="NEW", delta=1)}
END""",
    f"""CREATE TRIGGER instance_count_delete AFTER DELETE ON instance BEGIN
    {_SQLITE_UPSERT.format(row="OLD", delta=-1)}
END""",
]
_PG_UPSERT = """
        INSERT INTO instance_count (workflow, workflow_version, state, shard, n)
        VALUES ({row}.workflow, {row}.workflow_version, {row}.state, my_shard, {delta})
        ON CONFLICT (workflow, workflow_version, state, shard) DO UPDATE SET n = instance_count.n + {delta};"""
_POSTGRESQL = [
    f"""CREATE FUNCTION instance_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    my_shard integer := pg_backend_pid() % {SHARDS};
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN{_PG_UPSERT.format(row="OLD", delta=-1)}
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN{_PG_UPSERT.format(row="NEW", delta=1)}
    END IF;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION instance_count_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM instance_count;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER instance_count_insert_delete AFTER INSERT OR DELETE ON instance
FOR EACH ROW EXECUTE FUNCTION instance_count_apply()""",
    """CREATE TRIGGER instance_count_update AFTER UPDATE OF workflow, workflow_version, state ON instance
FOR EACH ROW WHEN (OLD.workflow IS DISTINCT FROM NEW.workflow
    OR OLD.workflow_version IS DISTINCT FROM NEW.workflow_version OR OLD.state IS DISTINCT FROM NEW.state)
EXECUTE FUNCTION instance_count_apply()""",
    """CREATE TRIGGER instance_count_truncate AFTER TRUNCATE ON instance
FOR EACH STATEMENT EXECUTE FUNCTION instance_count_clear()""",
]


def upgrade() -> None:
    op.create_table(
        "instance_count",
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(100), nullable=False),
        sa.Column("shard", sa.Integer, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("workflow", "workflow_version", "state", "shard", name="pk_instance_count"),
    )
    conn = op.get_bind()
    for statement in _POSTGRESQL if conn.dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO instance_count (workflow, workflow_version, state, shard, n)"
        " SELECT workflow, workflow_version, state, 0, count(*) FROM instance"
        " GROUP BY workflow, workflow_version, state"
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS instance_count_truncate ON instance")
        op.execute("DROP TRIGGER IF EXISTS instance_count_update ON instance")
        op.execute("DROP TRIGGER IF EXISTS instance_count_insert_delete ON instance")
        op.execute("DROP FUNCTION IF EXISTS instance_count_clear()")
        op.execute("DROP FUNCTION IF EXISTS instance_count_apply()")
    else:
        for name in ("instance_count_insert", "instance_count_update", "instance_count_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("instance_count")
