"""The statements of the write path: a fire, the creation of an instance, claiming and closing timers.

They are prepared once per dialect (``prepared``) and run on the driver connection of the
caller's transaction, because a fire is five or six small statements and SQLAlchemy's
per-execution machinery would cost several times what SQLite needs for each. The contract tests
read everything back through SQLAlchemy on both backends, so the two paths cannot drift apart.

Statements whose row count matters return the driver cursor as a ``RowCount``: in a pipelined
batch (PostgreSQL) the count is known only once the batch's results have come back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from .prepared import Prepared, Statements
from .records import Entity, Event, Instance, Timer, TimerStatus
from .schema import JSONType, UTCDateTime, entity, event, instance, letter, timer

_i, _e, _t, _l, _n = instance, event, timer, letter, entity


class RowCount(Protocol):
    """What a statement touched (a driver cursor)."""

    @property
    def rowcount(self) -> int: ...


_SELECT_INSTANCE = (
    sa.select(
        _i.c.id,
        _i.c.state,
        _i.c.version,
        _i.c.data,
        _i.c.last_hash,
        _i.c.workflow_version,
        _i.c.entered_at,
        _n.c.name,
        _n.c.attributes,
        _n.c.contacts,
    )
    .join(_n, _n.c.id == _i.c.entity_id)
    .where(_i.c.entity_id == sa.bindparam("entity"), _i.c.workflow == sa.bindparam("workflow"))
)
_UPDATE_INSTANCE = (
    _i.update()
    .where(_i.c.id == sa.bindparam("iid"), _i.c.version == sa.bindparam("seen"))
    .values(
        state=sa.bindparam("state"),
        version=sa.bindparam("new_version"),
        data=sa.bindparam("data", type_=JSONType),
        last_hash=sa.bindparam("hash"),
        entered_at=sa.bindparam("entered_at", type_=UTCDateTime),
        updated_at=sa.bindparam("now", type_=UTCDateTime),
    )
)
# When a timer fires, it is marked fired and the state's other timers cancelled, in one statement.
_CLOSE_TIMERS = (
    _t.update()
    .where(_t.c.instance_id == sa.bindparam("iid"), _t.c.status == TimerStatus.PENDING.value)
    .values(
        status=sa.case((_t.c.id == sa.bindparam("tid"), TimerStatus.FIRED.value), else_=TimerStatus.CANCELLED.value),
        closed_by_event=sa.bindparam("eid"),
        closed_at=sa.bindparam("now", type_=UTCDateTime),
    )
)
_CANCEL_TIMERS = (
    _t.update()
    .where(_t.c.instance_id == sa.bindparam("iid"), _t.c.status == TimerStatus.PENDING.value)
    .values(
        status=TimerStatus.CANCELLED.value,
        closed_by_event=sa.bindparam("eid"),
        closed_at=sa.bindparam("now", type_=UTCDateTime),
    )
)
# Closing a claimed timer without firing it (obsolete, skipped); like fires, it may run in a pipeline.
_CLOSE_TIMER = (
    _t.update()
    .where(_t.c.id == sa.bindparam("tid"), _t.c.status == TimerStatus.PENDING.value)
    .values(
        status=sa.bindparam("status"),
        note=sa.bindparam("note"),
        closed_by_event=sa.bindparam("eid"),
        closed_at=sa.bindparam("now", type_=UTCDateTime),
    )
)
_CLAIM = (
    sa.select(_t.c.id, _t.c.name, _t.c.trigger, _t.c.due_at, _t.c.catch_up, _i.c.entity_id, _i.c.workflow)
    .join(_i, _i.c.id == _t.c.instance_id)
    .where(_t.c.status == TimerStatus.PENDING.value, _t.c.due_at <= sa.bindparam("now", type_=UTCDateTime))
    .order_by(_t.c.due_at, _t.c.id)
    .limit(sa.bindparam("size", type_=sa.Integer))
)

EVENT_COLUMNS = (
    "instance_id",
    "seq",
    "trigger",
    "source",
    "dest",
    "actor",
    "role",
    "reason",
    "data",
    "occurred_at",
    "recorded_at",
    "late_by_s",
    "prev_hash",
    "hash",
    "hash_format",
    "principal",
    "letters",
    "batch_id",
    "basis",
)
_INSTANCE_COLUMNS = (
    "entity_id",
    "workflow",
    "workflow_version",
    "state",
    "data",
    "version",
    "last_hash",
    "entered_at",
    "created_at",
    "updated_at",
)
_TIMER_COLUMNS = ("instance_id", "name", "trigger", "due_at", "catch_up", "status", "armed_by_event")
LETTER_COLUMNS = (
    "instance_id",
    "event_id",
    "template",
    "recipient",
    "subject",
    "body",
    "body_html",
    "recipient_label",
    "recipient_name",
    "recipient_address",
    "recipient_email",
    "checksum",
    "status",
    "attempts",
    "created_at",
    "post",
)


_SET_VERSION = sa.update(_i).where(_i.c.id == sa.bindparam("iid")).values(workflow_version=sa.bindparam("to_version"))


def _prepare(dialect: Dialect) -> dict[str, Prepared]:
    def insert(table: sa.Table, columns: tuple[str, ...]) -> Prepared:
        statement = table.insert()
        if dialect.name != "sqlite":  # SQLite tells the new id through lastrowid, others through RETURNING
            statement = statement.returning(table.c.id)
        return Prepared(statement, dialect, columns)

    claim = _CLAIM if dialect.name == "sqlite" else _CLAIM.with_for_update(of=_t, skip_locked=True)
    return {
        "select": Prepared(_SELECT_INSTANCE, dialect),
        "update": Prepared(_UPDATE_INSTANCE, dialect),
        "close_timers": Prepared(_CLOSE_TIMERS, dialect),
        "cancel_timers": Prepared(_CANCEL_TIMERS, dialect),
        "close_timer": Prepared(_CLOSE_TIMER, dialect),
        "claim": Prepared(claim, dialect),
        "insert_instance": insert(_i, _INSTANCE_COLUMNS),
        "insert_event": insert(_e, EVENT_COLUMNS),
        "insert_timers": Prepared(_t.insert(), dialect, _TIMER_COLUMNS),
        "insert_letters": Prepared(_l.insert(), dialect, LETTER_COLUMNS),
        "set_version": Prepared(_SET_VERSION, dialect),
    }


_STATEMENTS = Statements(_prepare)


def _insert(name: str, conn: Connection, values: Mapping[str, Any]) -> int:
    cursor = _STATEMENTS.for_connection(conn)[name].execute(conn, values)
    return int(cursor.lastrowid if conn.dialect.name == "sqlite" else cursor.fetchone()[0])


def load_instance(conn: Connection, entity_id: str, workflow: str) -> Instance | None:
    """The instance of ``entity_id`` in ``workflow`` with its entity, as a fire reads it; None if none."""
    found = _STATEMENTS.for_connection(conn)["select"].first(conn, {"entity": entity_id, "workflow": workflow})
    if found is None:
        return None
    iid, state, version, data, last_hash, wf_version, entered, name, attributes, contacts = found
    return Instance(
        id=iid,
        entity=Entity(entity_id, name, attributes or {}, tuple(contacts or ())),
        workflow=workflow,
        workflow_version=wf_version,
        state=state,
        data=data,
        version=version,
        last_hash=last_hash,
        entered_at=entered,  # the business time of its last event: a decision cannot be dated before it
    )


def insert_instance(
    conn: Connection,
    *,
    entity_id: str,
    workflow: str,
    workflow_version: int,
    state: str,
    last_hash: str,
    entered_at: datetime,
    now: datetime,
    data: Mapping[str, Any] | None = None,
) -> int:
    """Insert an instance at version 0 (with no data, or a successor's ``data``); return its id."""
    values = {
        "entity_id": entity_id,
        "workflow": workflow,
        "workflow_version": workflow_version,
        "state": state,
        "data": dict(data or {}),
        "version": 0,
        "last_hash": last_hash,
        "entered_at": entered_at,
        "created_at": now,
        "updated_at": now,
    }
    return _insert("insert_instance", conn, values)


def update_instance(
    conn: Connection,
    current: Instance,
    *,
    state: str,
    data: Mapping[str, Any],
    last_hash: str,
    entered_at: datetime,
    now: datetime,
) -> RowCount:
    """Move ``current`` one version on, unless someone else did first (then nothing is touched)."""
    values = {
        "iid": current.id,
        "seen": current.version,
        "state": state,
        "new_version": current.version + 1,
        "data": data,
        "hash": last_hash,
        "entered_at": entered_at,
        "now": now,
    }
    cursor: RowCount = _STATEMENTS.for_connection(conn)["update"].execute(conn, values)
    return cursor


def insert_event(conn: Connection, instance_id: int, sealed: Event) -> int:
    """Store a sealed event of ``instance_id``; return its id."""
    values = {
        "instance_id": instance_id,
        "seq": sealed.seq,
        "trigger": sealed.trigger,
        "source": sealed.source,
        "dest": sealed.dest,
        "actor": sealed.actor,
        "role": sealed.role,
        "reason": sealed.reason,
        "data": sealed.data,
        "occurred_at": sealed.occurred_at,
        "recorded_at": sealed.recorded_at,
        "late_by_s": sealed.late_by_s,
        "prev_hash": sealed.prev_hash,
        "hash": sealed.hash,
        "hash_format": sealed.hash_format,
        "principal": sealed.principal,
        "letters": list(sealed.letters) or None,
        "batch_id": sealed.batch,
        "basis": None if sealed.basis is None else sealed.basis.as_json(),
    }
    return _insert("insert_event", conn, values)


def close_pending_timers(
    conn: Connection, instance_id: int, event_id: int, now: datetime, *, fired: int | None = None
) -> RowCount:
    """Close the pending timers of an instance as cancelled by ``event_id`` (``fired``: that one as fired)."""
    sql = _STATEMENTS.for_connection(conn)
    if fired is None:
        cancelled: RowCount = sql["cancel_timers"].execute(conn, {"iid": instance_id, "eid": event_id, "now": now})
        return cancelled
    closed: RowCount = sql["close_timers"].execute(
        conn, {"iid": instance_id, "tid": fired, "eid": event_id, "now": now}
    )
    return closed


def insert_timers(
    conn: Connection, instance_id: int, event_id: int, timers: Iterable[tuple[str, str, datetime, str]]
) -> None:
    """Arm pending timers (name, trigger, due_at, catch_up) of an instance, armed by ``event_id``."""
    rows = [
        {
            "instance_id": instance_id,
            "name": name,
            "trigger": trigger,
            "due_at": due,
            "catch_up": catch_up,
            "status": TimerStatus.PENDING.value,
            "armed_by_event": event_id,
        }
        for name, trigger, due, catch_up in timers
    ]
    _STATEMENTS.for_connection(conn)["insert_timers"].execute_many(conn, rows)


def insert_letters(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Put rendered letters in the outbox (one mapping of ``LETTER_COLUMNS`` per letter and recipient)."""
    _STATEMENTS.for_connection(conn)["insert_letters"].execute_many(conn, rows)


def claim_due_timers(conn: Connection, now: datetime, size: int) -> list[Timer]:
    """Pending timers due at or before ``now``, soonest first; locked, and skipped by others, on PostgreSQL."""
    claim = _STATEMENTS.for_connection(conn)["claim"]
    claimed = []
    for row in claim.execute(conn, {"now": now, "size": size}).fetchall():
        tid, name, trigger, due, catch_up, entity_id, workflow = claim.process(row)
        claimed.append(Timer(tid, entity_id, workflow, name, trigger, due, catch_up, TimerStatus.PENDING))
    return claimed


def close_timer(
    conn: Connection, timer_id: int, status: TimerStatus, note: str, now: datetime, event_id: int
) -> RowCount:
    """Close one pending timer without firing it (obsolete, skipped) by ``event_id``, with a note saying why."""
    cursor: RowCount = _STATEMENTS.for_connection(conn)["close_timer"].execute(
        conn, {"tid": timer_id, "status": status.value, "note": note, "now": now, "eid": event_id}
    )
    return cursor


def move_timer(conn: Connection, timer_id: int, old_due: datetime, new_due: datetime) -> RowCount:
    """Move a pending timer still due at ``old_due`` to ``new_due`` (0 rows if it changed meanwhile)."""
    moved: RowCount = conn.execute(
        sa.update(_t)
        .where(_t.c.id == timer_id, _t.c.status == TimerStatus.PENDING.value, _t.c.due_at == old_due)
        .values(due_at=new_due)
    )
    return moved


def set_workflow_version(conn: Connection, instance_id: int, version: int) -> None:
    """Carry an instance to another version of its workflow (in the transaction of its migration event)."""
    _STATEMENTS.for_connection(conn)["set_version"].execute(conn, {"iid": instance_id, "to_version": version})
