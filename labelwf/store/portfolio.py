"""The portfolio's reads: counts per workflow version and state, deadlines in a window, the latest
decisions. Each is one grouped or indexed query, so the home page costs the same at any size:
counts are read from the counters the database keeps per state (``counters``), deadlines a range of
the ``(status, due_at)`` index, decisions the newest events by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import counters
from .records import TimerStatus
from .schema import entity, event, instance, timer

_i, _e, _t, _n = instance, event, timer, entity


@dataclass(frozen=True, slots=True)
class DueRow:
    """A pending timer with what the portfolio shows of its instance."""

    entity: str
    entity_name: str
    workflow: str
    workflow_version: int
    state: str
    name: str
    trigger: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One recorded decision with its pole's name and its instance's workflow version."""

    entity: str
    entity_name: str
    workflow: str
    workflow_version: int
    trigger: str
    source: str | None
    dest: str
    actor: str
    role: str
    occurred_at: datetime


def counts_by_version(conn: Connection) -> list[tuple[str, int, str, int]]:
    """(workflow, version, state, count) of every state that holds instances, by workflow and version."""
    return counters.counts_by_version(conn)


def _pending(start: datetime | None, end: datetime | None) -> list[sa.ColumnElement[bool]]:
    where = [_t.c.status == TimerStatus.PENDING.value]
    if start is not None:
        where.append(_t.c.due_at >= start)
    if end is not None:
        where.append(_t.c.due_at < end)
    return where


def count_due(conn: Connection, *, start: datetime | None, end: datetime | None) -> int:
    """How many pending timers fall due in ``[start, end)`` (either bound open)."""
    query = sa.select(sa.func.count()).select_from(_t).where(*_pending(start, end))
    return int(conn.execute(query).scalar() or 0)


def due_between(
    conn: Connection, *, start: datetime | None, end: datetime | None, limit: int, newest_first: bool = False
) -> list[DueRow]:
    """Pending timers due in ``[start, end)``, soonest first (or latest first), at most ``limit``."""
    order = (_t.c.due_at.desc(), _t.c.id.desc()) if newest_first else (_t.c.due_at, _t.c.id)
    query = (
        sa.select(
            _i.c.entity_id,
            _n.c.name.label("entity_name"),
            _i.c.workflow,
            _i.c.workflow_version,
            _i.c.state,
            _t.c.name,
            _t.c.trigger,
            _t.c.due_at,
        )
        .join(_i, _i.c.id == _t.c.instance_id)
        .join(_n, _n.c.id == _i.c.entity_id)
        .where(*_pending(start, end))
        .order_by(*order)
        .limit(limit)
    )
    return [
        DueRow(
            entity=r.entity_id,
            entity_name=r.entity_name,
            workflow=r.workflow,
            workflow_version=int(r.workflow_version),
            state=r.state,
            name=r.name,
            trigger=r.trigger,
            due_at=r.due_at,
        )
        for r in conn.execute(query)
    ]


def latest_decisions(conn: Connection, limit: int) -> list[DecisionRow]:
    """The newest recorded transitions (chain events such as a moved deadline left out), newest first."""
    query = (
        sa.select(
            _i.c.entity_id,
            _n.c.name.label("entity_name"),
            _i.c.workflow,
            _i.c.workflow_version,
            _e.c.trigger,
            _e.c.source,
            _e.c.dest,
            _e.c.actor,
            _e.c.role,
            _e.c.occurred_at,
        )
        .join(_i, _i.c.id == _e.c.instance_id)
        .join(_n, _n.c.id == _i.c.entity_id)
        .where(_e.c.trigger.is_not(None), sa.not_(_e.c.trigger.startswith("(")))
        .order_by(_e.c.id.desc())
        .limit(limit)
    )
    return [
        DecisionRow(
            entity=r.entity_id,
            entity_name=r.entity_name,
            workflow=r.workflow,
            workflow_version=int(r.workflow_version),
            trigger=r.trigger,
            source=r.source,
            dest=r.dest,
            actor=r.actor,
            role=r.role,
            occurred_at=r.occurred_at,
        )
        for r in conn.execute(query)
    ]
