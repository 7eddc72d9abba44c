"""Read-side queries: what the CLI (and any front end) shows. Nothing here writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import store
from .definition import Workflow
from .errors import NotFound
from .store import Database

_i, _e, _t, _l, _n = store.instance, store.event, store.timer, store.letter, store.entity


def list_instances(db: Database, workflow: Workflow, *, state: str | None = None) -> list[dict[str, Any]]:
    """Return the instances of ``workflow`` (optionally in one state), ordered by entity id."""
    if state is not None and state not in workflow.states:
        raise NotFound("state", state, f"{workflow.key} has: {', '.join(workflow.states)}")
    query = (
        sa.select(_i.c.entity_id, _n.c.name, _i.c.state, _i.c.version, _i.c.updated_at, _n.c.attributes)
        .join(_n, _n.c.id == _i.c.entity_id)
        .where(_i.c.workflow == workflow.name)
        .order_by(_i.c.entity_id)
    )
    if state is not None:
        query = query.where(_i.c.state == state)
    with db.read() as conn:
        return [
            {
                "entity": r.entity_id,
                "name": r.name,
                "state": r.state,
                "version": r.version,
                "updated_at": r.updated_at,
                "region": (r.attributes or {}).get("region"),
            }
            for r in conn.execute(query)
        ]


def state_counts(db: Database, workflow: Workflow) -> dict[str, int]:
    """Return how many instances of ``workflow`` are in each of its states (zero included)."""
    counts = dict.fromkeys(workflow.states, 0)
    query = sa.select(_i.c.state, sa.func.count()).where(_i.c.workflow == workflow.name).group_by(_i.c.state)
    with db.read() as conn:
        for state, count in conn.execute(query):
            counts[state] = count
    return counts


def get_instance(db: Database, workflow: Workflow, entity: str) -> dict[str, Any]:
    """Return one instance: state, data, the triggers it can take, pending timers and letters."""
    with db.read() as conn:
        row = conn.execute(
            sa.select(_i, _n.c.name, _n.c.attributes)
            .join(_n, _n.c.id == _i.c.entity_id)
            .where(_i.c.entity_id == entity, _i.c.workflow == workflow.name)
        ).first()
        if row is None:
            raise NotFound("instance", entity, "`labelwf list` shows the instances")
        timers = conn.execute(
            sa.select(_t.c.name, _t.c.trigger, _t.c.due_at, _t.c.catch_up)
            .where(_t.c.instance_id == row.id, _t.c.status == store.PENDING)
            .order_by(_t.c.due_at)
        ).all()
        letters = conn.execute(
            sa.select(_l.c.id, _l.c.template, _l.c.recipient, _l.c.status, _l.c.subject, _l.c.created_at)
            .where(_l.c.instance_id == row.id)
            .order_by(_l.c.id)
        ).all()
    definition = workflow.states.get(row.state)
    allowed = []
    for trigger in workflow.triggers_from(row.state):
        candidates = workflow.candidates(row.state, trigger)
        allowed.append(
            {
                "trigger": trigger,
                "to": sorted({c.dest for c in candidates}),
                "requires": sorted({f for c in candidates for f in c.requires}),
                "optional": sorted({f for c in candidates for f in c.optional}),
                "roles": sorted({r for c in candidates for r in c.roles}),
            }
        )
    return {
        "entity": entity,
        "name": row.name,
        "attributes": row.attributes,
        "workflow": f"{row.workflow}@{row.workflow_version}",
        "state": row.state,
        "description": definition.description if definition else "",
        "final": bool(definition and definition.final),
        "version": row.version,
        "data": row.data,
        "entered_at": row.entered_at,
        "updated_at": row.updated_at,
        "allowed": allowed,
        "timers": [{"name": t.name, "trigger": t.trigger, "due_at": t.due_at, "catch_up": t.catch_up} for t in timers],
        "letters": [
            {"id": m.id, "template": m.template, "recipient": m.recipient, "status": m.status, "subject": m.subject}
            for m in letters
        ],
    }


def history(db: Database, workflow: Workflow, entity: str) -> list[dict[str, Any]]:
    """Return the audit events of one instance, oldest first."""
    with db.read() as conn:
        iid = conn.execute(sa.select(_i.c.id).where(_i.c.entity_id == entity, _i.c.workflow == workflow.name)).scalar()
        if iid is None:
            raise NotFound("instance", entity, "`labelwf list` shows the instances")
        rows = conn.execute(sa.select(_e).where(_e.c.instance_id == iid).order_by(_e.c.seq)).mappings().all()
    return [
        {
            "seq": r["seq"],
            "trigger": r["trigger"],
            "source": r["source"],
            "dest": r["dest"],
            "actor": r["actor"],
            "role": r["role"],
            "reason": r["reason"],
            "data": r["data"],
            "occurred_at": r["occurred_at"],
            "recorded_at": r["recorded_at"],
            "late_by_s": r["late_by_s"],
            "hash": r["hash"],
        }
        for r in rows
    ]


def pending_timers(db: Database, *, due_before: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Return pending timers, soonest first (optionally only those due before an instant)."""
    query = (
        sa.select(_t.c.id, _i.c.entity_id, _i.c.workflow, _t.c.name, _t.c.trigger, _t.c.due_at, _t.c.catch_up)
        .join(_i, _i.c.id == _t.c.instance_id)
        .where(_t.c.status == store.PENDING)
        .order_by(_t.c.due_at, _t.c.id)
        .limit(limit)
    )
    if due_before is not None:
        query = query.where(_t.c.due_at < due_before)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


_LETTER_COLUMNS = (
    _l.c.id,
    _n.c.id.label("entity"),
    _l.c.template,
    _l.c.recipient,
    _l.c.recipient_label,
    _l.c.recipient_name,
    _l.c.recipient_email,
    _l.c.subject,
    _l.c.status,
    _l.c.attempts,
    _l.c.last_error,
    _l.c.checksum,
    _l.c.message_id,
    _l.c.created_at,
    _l.c.delivered_at,
    _e.c.occurred_at,
)


def _letters_query() -> sa.Select[Any]:
    return (
        sa.select(*_LETTER_COLUMNS)
        .join(_i, _i.c.id == _l.c.instance_id)
        .join(_n, _n.c.id == _i.c.entity_id)
        .join(_e, _e.c.id == _l.c.event_id)
    )


def list_letters(
    db: Database, *, entity: str | None = None, status: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Return letters of the outbox, newest first (optionally one entity's, or in one status)."""
    query = _letters_query().order_by(_l.c.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(_n.c.id == entity)
    if status is not None:
        query = query.where(_l.c.status == status)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def get_letter(db: Database, letter_id: int) -> dict[str, Any]:
    """Return one letter with its frozen text and HTML."""
    with db.read() as conn:
        row = conn.execute(_letters_query().add_columns(_l.c.body, _l.c.body_html).where(_l.c.id == letter_id)).first()
    if row is None:
        raise NotFound("letter", letter_id, "`labelwf letters` lists them")
    return dict(row._mapping)
