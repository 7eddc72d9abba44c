"""Reads of the audit trail's own checks: the counts a checkpoint pins, the hashes at its heads, and
the letters beside the events that sealed them.

Nothing here writes. ``audit`` verifies with these reads, ``checkpoint`` takes its counts, and a
letter shown to a person is read with its event in one statement (``sealed_letter``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .reads import _LETTER_SUMMARY
from .records import Event, Letter, event_from_row, letter_from_row
from .schema import admin_event, batch, entity_version, event, instance, letter, timer

_i, _e, _l, _t = instance, event, letter, timer
# Tables whose rows are never deleted; the administrative acts' too, so that a checkpoint pins them.
COUNTED = {
    "instance": _i,
    "event": _e,
    "letter": _l,
    "timer": _t,
    "admin_event": admin_event,
    "entity_version": entity_version,
}
_CHUNK = 2000  # (instance, seq) pairs per statement: far below every driver's limit on parameters


def table_counts(conn: Connection) -> dict[str, int]:
    """How many rows each table of the trail holds (``instance``, ``event``, ``letter``, ``timer``,
    ``admin_event``, ``entity_version``)."""
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0) for name, t in COUNTED.items()
    }


def heads(conn: Connection) -> list[tuple[int, str, str, int, str]]:
    """Every instance's (id, entity, workflow, version, last hash), as the driver returns them: plain
    integers and texts need no type processing, which would cost more than SQLite's own work here."""
    statement = f"SELECT id, entity_id, workflow, version, last_hash FROM {_i.name}"  # a constant: no input
    return [tuple(row) for row in conn.exec_driver_sql(statement).fetchall()]


def last_event_id(conn: Connection) -> int:
    """The id of the newest event (0 for none): one look at the primary key, to tell whether anything
    was recorded since a checkpoint."""
    return int(conn.execute(sa.select(sa.func.max(_e.c.id))).scalar() or 0)


def last_plan_finished(conn: Connection) -> datetime | None:
    """When the last plan finished executing (the ``batch`` table is small: one short scan)."""
    found: datetime | None = conn.execute(sa.select(sa.func.max(batch.c.finished_at))).scalar()
    return found  # max() keeps the column's type: an aware UTC datetime on every backend


def hashes_at(conn: Connection, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The hash of the event at each (instance id, seq) of ``wanted`` that still exists.

    Read by instance ids and the few distinct seqs of a chunk (both on the unique index), then
    filtered here: SQLite answers a list of row values by scanning the table.
    """
    found: dict[tuple[int, int], str] = {}
    wanted_set = set(wanted)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        seqs = sorted({seq for _, seq in chunk})
        query = sa.select(_e.c.instance_id, _e.c.seq, _e.c.hash).where(
            _e.c.instance_id.in_([instance_id for instance_id, _ in chunk]),
            _e.c.seq.in_(seqs) if len(seqs) <= _CHUNK // 10 else sa.true(),
        )
        for instance_id, seq, digest in conn.execute(query):
            if (instance_id, seq) in wanted_set:
                found[(instance_id, seq)] = digest
    return found


def letter_seal_rows(conn: Connection, entity_id: str | None = None) -> Iterator[Any]:
    """Every letter (or one entity's) with what its checksum covers and what its event sealed
    (``hash_format``, ``sealed``, ``seq``, ``entity_id``, ``workflow``), by id, streamed in chunks."""
    query = (
        sa.select(
            _l.c.id,
            _l.c.event_id,
            _l.c.template,
            _l.c.recipient,
            _l.c.subject,
            _l.c.body,
            _l.c.body_html,
            _l.c.recipient_name,
            _l.c.recipient_address,
            _l.c.recipient_email,
            _l.c.checksum,
            _e.c.seq,
            _e.c.hash_format,
            _e.c.letters.label("sealed"),
            _i.c.entity_id,
            _i.c.workflow,
        )
        .join(_e, _e.c.id == _l.c.event_id)
        .join(_i, _i.c.id == _l.c.instance_id)
        .order_by(_l.c.id)
    )
    if entity_id is not None:
        query = query.where(_i.c.entity_id == entity_id)
    yield from conn.execution_options(yield_per=500).execute(query).mappings()


def sealing_shortfalls(conn: Connection, entity_id: str | None = None) -> Iterator[tuple[Any, int]]:
    """Events that sealed more letters than the ``letter`` table still holds for them: (event row, found).

    Read only when the totals differ (a letter row was deleted), so its cost is no one's routine.
    """
    found = sa.select(_l.c.event_id, sa.func.count().label("found")).group_by(_l.c.event_id).subquery()
    query = (
        sa.select(_e.c.id, _e.c.seq, _e.c.letters, _i.c.entity_id, _i.c.workflow, found.c.found)
        .join(_i, _i.c.id == _e.c.instance_id)
        .outerjoin(found, found.c.event_id == _e.c.id)
        .where(_e.c.hash_format >= 4, _e.c.letters.is_not(None))
        .order_by(_e.c.id)
    )
    if entity_id is not None:
        query = query.where(_i.c.entity_id == entity_id)
    for row in conn.execution_options(yield_per=2000).execute(query).mappings():
        sealed = len(row["letters"] or ())
        if sealed > (row["found"] or 0):
            yield row, int(row["found"] or 0)


_EVENT_COLUMNS = [c.label(f"ev_{c.name}") for c in _e.c]


def sealed_letter(conn: Connection, letter_id: int) -> tuple[Letter, Event] | None:
    """One letter with its frozen text and HTML, and the event that sealed it, in one statement; or None."""
    query = (
        sa.select(*_LETTER_SUMMARY, _l.c.body, _l.c.body_html, _i.c.workflow, *_EVENT_COLUMNS)
        .join(_i, _i.c.id == _l.c.instance_id)
        .join(_e, _e.c.id == _l.c.event_id)
        .where(_l.c.id == letter_id)
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    sealing = {name[3:]: value for name, value in row.items() if name.startswith("ev_")}
    return letter_from_row(row), event_from_row(sealing, row["entity_id"], row["workflow"])
