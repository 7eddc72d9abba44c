"""How many instances are in each state of each workflow version, kept by the database itself.

``instance_count`` holds one row per (workflow, version, state, shard) with a signed count; triggers
on ``instance`` (migration 0013) add one where an instance is inserted or arrives in a state and
take one off where it leaves a state or is deleted, in the transaction that changes the row, so no
write path can forget it and a rolled-back fire leaves no trace. On PostgreSQL each connection
writes to its own shard (its backend pid modulo 32), so that concurrent fires do not wait on one
another's counter row; the count of a state is the sum over its shards. On SQLite, which has one
writer at a time, there is one shard. Reading the counts costs the same at any size of the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import instance, metadata

instance_count = sa.Table(
    "instance_count",
    metadata,
    sa.Column("workflow", sa.String(100), primary_key=True),
    sa.Column("workflow_version", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(100), primary_key=True),
    sa.Column("shard", sa.Integer, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)
_c = instance_count


def counts_by_version(conn: Connection) -> list[tuple[str, int, str, int]]:
    """(workflow, version, state, count) of every state that holds instances, by workflow and version."""
    total = sa.func.sum(_c.c.n)
    query = (
        sa.select(_c.c.workflow, _c.c.workflow_version, _c.c.state, total)
        .group_by(_c.c.workflow, _c.c.workflow_version, _c.c.state)
        .having(total > 0)
        .order_by(_c.c.workflow, _c.c.workflow_version, _c.c.state)
    )
    return [(str(w), int(v), str(s), int(n)) for w, v, s, n in conn.execute(query)]


def count(conn: Connection, *, workflow: str | None = None, states: Sequence[str] = ()) -> int:
    """How many instances there are (of ``workflow``, in one of ``states``; None or empty: all)."""
    query = sa.select(sa.func.coalesce(sa.func.sum(_c.c.n), 0))
    if workflow is not None:
        query = query.where(_c.c.workflow == workflow)
    if states:
        query = query.where(_c.c.state.in_(list(states)))
    return int(conn.execute(query).scalar() or 0)


def counted_by_scan(conn: Connection) -> list[tuple[str, int, str, int]]:
    """The same as ``counts_by_version`` counted over the instance table (what the counters must equal)."""
    i = instance
    query = (
        sa.select(i.c.workflow, i.c.workflow_version, i.c.state, sa.func.count())
        .group_by(i.c.workflow, i.c.workflow_version, i.c.state)
        .order_by(i.c.workflow, i.c.workflow_version, i.c.state)
    )
    return [(str(w), int(v), str(s), int(n)) for w, v, s, n in conn.execute(query)]
