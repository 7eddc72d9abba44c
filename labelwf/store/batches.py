"""Plans on many instances: the plan's row, its frozen items, claiming them to run, their outcomes.

Items are claimed in ``seq`` order, ``pending`` only; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``
so that two runners of one plan never take the same item. An item's outcome is written in the
transaction of its event, so an item is done exactly when its event is in the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .prepared import Prepared, Statements
from .reads import INSTANCE_COLUMNS
from .records import (
    Batch,
    BatchItem,
    BatchStatus,
    Instance,
    ItemStatus,
    Timer,
    TimerStatus,
    batch_from_row,
    batch_item_from_row,
    instance_from_row,
    timer_from_row,
)
from .schema import batch, batch_item, entity, instance, timer

_b, _bi, _i, _n, _t = batch, batch_item, instance, entity, timer
_CHUNK = 500  # ids per IN (...) list, and rows per INSERT


def create_batch(
    conn: Connection,
    *,
    kind: str,
    workflow: str,
    reference: str,
    actor: str,
    reason: str,
    principal: str | None,
    occurred_at: datetime | None,
    spec: Mapping[str, Any],
    now: datetime,
) -> int:
    """Store a new plan (``planned``); return its id."""
    values = {
        "kind": kind,
        "workflow": workflow,
        "reference": reference,
        "actor": actor,
        "reason": reason,
        "principal": principal,
        "occurred_at": occurred_at,
        "spec": dict(spec),
        "status": BatchStatus.PLANNED.value,
        "created_at": now,
    }
    return int(conn.execute(sa.insert(_b).values(values).returning(_b.c.id)).scalar_one())


def insert_items(conn: Connection, batch_id: int, items: Sequence[Mapping[str, Any]]) -> None:
    """Store a plan's items: each with ``seq``, ``entity_id``, ``instance_id``, ``seen_version``,
    ``action``, ``preview`` and ``status`` (``pending``, or ``refused`` with the reason in ``preview``)."""
    rows = [dict(item, batch_id=batch_id) for item in items]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(_bi), rows[start : start + _CHUNK])


def _counts(conn: Connection, batch_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(batch_ids)
    found: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return found
    query = (
        sa.select(_bi.c.batch_id, _bi.c.status, sa.func.count())
        .where(_bi.c.batch_id.in_(ids))
        .group_by(_bi.c.batch_id, _bi.c.status)
    )
    for bid, status, count in conn.execute(query):
        found[bid][status] = count
    return found


def get_batch(conn: Connection, batch_id: int) -> Batch | None:
    """A plan with its items' counts by status, or None."""
    row = conn.execute(sa.select(_b).where(_b.c.id == batch_id)).mappings().first()
    return None if row is None else batch_from_row(row, _counts(conn, [batch_id])[batch_id])


def list_batches(conn: Connection, *, kind: str | None = None, limit: int = 100) -> list[Batch]:
    """The latest plans first (of one ``kind``), with their counts."""
    query = sa.select(_b).order_by(_b.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(_b.c.kind == kind)
    rows = list(conn.execute(query).mappings())
    counts = _counts(conn, [r["id"] for r in rows])
    return [batch_from_row(r, counts[r["id"]]) for r in rows]


def items(
    conn: Connection, batch_id: int, *, after: int = -1, limit: int = 1000, status: str | None = None
) -> list[BatchItem]:
    """A plan's items after ``seq`` ``after``, in order (of one ``status``)."""
    query = sa.select(_bi).where(_bi.c.batch_id == batch_id, _bi.c.seq > after).order_by(_bi.c.seq).limit(limit)
    if status is not None:
        query = query.where(_bi.c.status == status)
    return [batch_item_from_row(r) for r in conn.execute(query).mappings()]


def claim_items(conn: Connection, batch_id: int, size: int) -> list[BatchItem]:
    """The next ``size`` pending items of a plan that is not cancelled, locked for this transaction."""
    status = conn.execute(sa.select(_b.c.status).where(_b.c.id == batch_id)).scalar_one_or_none()
    if status not in (BatchStatus.PLANNED, BatchStatus.RUNNING):
        return []
    query = (
        sa.select(_bi)
        .where(_bi.c.batch_id == batch_id, _bi.c.status == ItemStatus.PENDING.value)
        .order_by(_bi.c.seq)
        .limit(size)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [batch_item_from_row(r) for r in conn.execute(query).mappings()]


_FINISH_ITEM = (
    sa.update(_bi)
    .where(_bi.c.batch_id == sa.bindparam("bid"), _bi.c.seq == sa.bindparam("item_seq"))
    .values(
        status=sa.bindparam("status"),
        outcome=sa.bindparam("outcome", type_=_bi.c.outcome.type),
        event_id=sa.bindparam("eid", type_=_bi.c.event_id.type),
        done_at=sa.bindparam("done", type_=_bi.c.done_at.type),
    )
)
_STATEMENTS = Statements(lambda dialect: {"finish": Prepared(_FINISH_ITEM, dialect)})


def finish_item(
    conn: Connection,
    item: BatchItem,
    status: ItemStatus,
    outcome: Mapping[str, Any],
    now: datetime,
    event_id: int | None = None,
) -> None:
    """Record an item's outcome (in the transaction of its event, if any): a prepared statement, as
    each item of a run writes one beside its fire."""
    values = {
        "bid": item.batch_id,
        "item_seq": item.seq,
        "status": status.value,
        "outcome": dict(outcome),
        "eid": event_id,
        "done": now,
    }
    _STATEMENTS.for_connection(conn)["finish"].execute(conn, values)


def set_status(
    conn: Connection, batch_id: int, status: BatchStatus, now: datetime, *, allowed: Sequence[BatchStatus]
) -> bool:
    """Move a plan to ``status`` if it is in one of ``allowed``; stamp when it started or finished."""
    values: dict[str, Any] = {"status": status.value}
    if status is BatchStatus.RUNNING:
        values["started_at"] = sa.func.coalesce(_b.c.started_at, now)
    else:
        values["finished_at"] = now
    done = conn.execute(
        sa.update(_b).where(_b.c.id == batch_id, _b.c.status.in_([s.value for s in allowed])).values(values)
    )
    return bool(done.rowcount)


def set_executor(conn: Connection, batch_id: int, executor: str) -> None:
    """Record who runs a plan (the principal its items' events carry)."""
    conn.execute(sa.update(_b).where(_b.c.id == batch_id).values(executed_by=executor))


def cancel_pending(conn: Connection, batch_id: int, now: datetime) -> int:
    """Mark a cancelled plan's items not run yet as cancelled; return how many."""
    done = conn.execute(
        sa.update(_bi)
        .where(_bi.c.batch_id == batch_id, _bi.c.status == ItemStatus.PENDING.value)
        .values(status=ItemStatus.CANCELLED.value, done_at=now)
    )
    return int(done.rowcount)


def workflow_instances(
    conn: Connection,
    workflow: str,
    *,
    entity_ids: Sequence[str] | None = None,
    states: Sequence[str] = (),
    version: int | None = None,
) -> list[Instance]:
    """The instances of ``workflow`` (of these entities, in these states, at this version), by entity id."""
    base = sa.select(*INSTANCE_COLUMNS).join(_n, _n.c.id == _i.c.entity_id).where(_i.c.workflow == workflow)
    if version is not None:
        base = base.where(_i.c.workflow_version == version)
    if states:
        base = base.where(_i.c.state.in_(list(states)))
    if entity_ids is None:
        return [instance_from_row(r) for r in conn.execute(base.order_by(_i.c.entity_id)).mappings()]
    found: list[Instance] = []
    ids = list(dict.fromkeys(entity_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.extend(instance_from_row(r) for r in conn.execute(base.where(_i.c.entity_id.in_(chunk))).mappings())
    return sorted(found, key=lambda i: i.entity.id)


def pending_timers_by_instance(conn: Connection, workflow: str, version: int) -> dict[int, list[Timer]]:
    """The pending timers of every instance of one workflow version, by instance id (one query)."""
    query = (
        sa.select(_t, _i.c.entity_id, _i.c.workflow)
        .join(_i, _i.c.id == _t.c.instance_id)
        .where(_i.c.workflow == workflow, _i.c.workflow_version == version, _t.c.status == TimerStatus.PENDING.value)
        .order_by(_t.c.instance_id, _t.c.due_at)
    )
    found: dict[int, list[Timer]] = {}
    for row in conn.execute(query).mappings():
        found.setdefault(row["instance_id"], []).append(timer_from_row(row))
    return found
