"""The statements of an entity's dated versions: recording one, reading the version in force at a date.

An entity's name, attributes and contacts change over time (a pole renamed, a region merged). Each
version is a row of ``entity_version``, never updated: the version in force at a date is the one
with the greatest ``valid_from`` at or before it. The version as registered has ``valid_from`` NULL
(in force since always) and no event; it is kept when the first change is recorded. The ``entity``
row holds the version in force now, so that every current read costs nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .prepared import Prepared, Statements
from .records import Entity, Instance
from .schema import entity, entity_version, event, instance
from .search import earlier_names, search_text


@dataclass(frozen=True, slots=True)
class EntityVersion:
    """One version of an entity: in force from ``valid_from`` (None: since always) until the next."""

    entity: Entity
    valid_from: datetime | None
    event_id: int | None = None
    basis: Mapping[str, Any] | None = None
    recorded_at: datetime | None = None
    seq: int | None = None  # the seq of the chain event that recorded it
    change: Mapping[str, Any] = field(default_factory=dict)  # that event's data
    event_basis: Mapping[str, Any] | None = None  # that event's basis (the version's must be the same)
    workflow: str = ""  # the workflow of the instance whose chain holds that event


_COLUMNS = (
    entity_version.c.id,
    entity_version.c.entity_id,
    entity_version.c.valid_from,
    entity_version.c.name,
    entity_version.c.attributes,
    entity_version.c.contacts,
    entity_version.c.event_id,
    entity_version.c.basis,
    entity_version.c.recorded_at,
    event.c.seq,
    event.c.data,
    event.c.basis.label("event_basis"),
    instance.c.workflow,
)
_JOINED = entity_version.outerjoin(event, event.c.id == entity_version.c.event_id).outerjoin(
    instance, instance.c.id == event.c.instance_id
)


def _version(row: Any) -> EntityVersion:
    return EntityVersion(
        entity=Entity(row.entity_id, row.name, row.attributes or {}, tuple(row.contacts or ())),
        valid_from=row.valid_from,
        event_id=row.event_id,
        basis=row.basis,
        recorded_at=row.recorded_at,
        seq=row.seq,
        change=row.data or {},
        event_basis=row.event_basis,
        workflow=row.workflow or "",
    )


def versions_of(conn: Connection, entity_id: str) -> list[EntityVersion]:
    """Every recorded version of ``entity_id``, oldest first (empty: it never changed)."""
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .select_from(_JOINED)
        .where(entity_version.c.entity_id == entity_id)
        .order_by(entity_version.c.id)
    )
    return [_version(row) for row in rows]


def in_force(versions: Sequence[EntityVersion], at: datetime) -> EntityVersion | None:
    """Of ``versions`` (oldest first), the one in force at ``at``; None when there are none."""
    chosen: EntityVersion | None = None
    for version in versions:
        if version.valid_from is None or version.valid_from <= at:
            chosen = version
    return chosen


# The version in force at an instant (the newest recorded with valid_from <= it, or the first, in
# force since always), prepared once per dialect: a backdated fire runs it, and building the
# statement through SQLAlchemy each time cost a letter more than the lookup itself.
_IN_FORCE = (
    sa.select(entity_version.c.name, entity_version.c.attributes, entity_version.c.contacts)
    .where(
        entity_version.c.entity_id == sa.bindparam("entity_id"),
        sa.or_(entity_version.c.valid_from.is_(None), entity_version.c.valid_from <= sa.bindparam("at")),
    )
    .order_by(entity_version.c.id.desc())
    .limit(1)
)
_STATEMENTS = Statements(lambda dialect: {"in_force": Prepared(_IN_FORCE, dialect)})


def entity_at(conn: Connection, current: Entity, at: datetime) -> Entity:
    """``current`` (the entity row, in force now) as it was at ``at``: one query."""
    found = _STATEMENTS.for_connection(conn)["in_force"].first(conn, {"entity_id": current.id, "at": at})
    if found is None:
        return current
    name, attributes, contacts = found
    return Entity(current.id, name, attributes or {}, tuple(contacts or ()))


def load_entity(conn: Connection, entity_id: str) -> Entity | None:
    """The entity row (the version in force now), or None when ``entity_id`` is not registered."""
    row = conn.execute(
        sa.select(entity.c.id, entity.c.name, entity.c.attributes, entity.c.contacts).where(entity.c.id == entity_id)
    ).first()
    if row is None:
        return None
    return Entity(row.id, row.name, row.attributes or {}, tuple(row.contacts or ()))


def insert_version(
    conn: Connection,
    version: Entity,
    *,
    valid_from: datetime | None,
    event_id: int | None,
    basis: Mapping[str, Any] | None,
    now: datetime,
) -> None:
    """Record a version of ``version.id`` (never updated afterwards)."""
    conn.execute(
        entity_version.insert().values(
            entity_id=version.id,
            valid_from=valid_from,
            name=version.name,
            attributes=dict(version.attributes),
            contacts=[dict(c) for c in version.contacts],
            event_id=event_id,
            basis=None if basis is None else dict(basis),
            recorded_at=now,
        )
    )


def set_current(conn: Connection, version: Entity) -> None:
    """Make ``version`` the entity row (the version in force now), its search text with its earlier names."""
    searched = search_text(version.id, version.name, version.attributes, earlier_names(conn, version.id))
    conn.execute(
        entity.update()
        .where(entity.c.id == version.id)
        .values(
            name=version.name,
            attributes=dict(version.attributes),
            contacts=[dict(c) for c in version.contacts],
            search=searched,
        )
    )


def every_version(conn: Connection) -> dict[str, list[EntityVersion]]:
    """Every entity's versions, oldest first (for ``audit verify``)."""
    rows = conn.execute(
        sa.select(*_COLUMNS).select_from(_JOINED).order_by(entity_version.c.entity_id, entity_version.c.id)
    )
    found: dict[str, list[EntityVersion]] = {}
    for row in rows:
        found.setdefault(row.entity_id, []).append(_version(row))
    return found


def dated(conn: Connection, current: Instance, at: datetime, now: datetime) -> Instance:
    """``current`` with its entity as it was at ``at``. The entity row is the version in force now, so
    a step dated now reads nothing more; a backdated one reads the entity's versions (one query)."""
    if at >= now:
        return current
    found = entity_at(conn, current.entity, at)
    return current if found is current.entity else replace(current, entity=found)


def all_entities(conn: Connection) -> list[Entity]:
    """Every registered entity as in force now, by id."""
    rows = conn.execute(
        sa.select(entity.c.id, entity.c.name, entity.c.attributes, entity.c.contacts).order_by(entity.c.id)
    )
    return [Entity(row.id, row.name, row.attributes or {}, tuple(row.contacts or ())) for row in rows]


def apply_change(version: Entity, change: Mapping[str, Any]) -> Entity:
    """``version`` with a change's new values (``name``, ``contacts``, attributes; None removes one)."""
    name, attributes, contacts = version.name, dict(version.attributes), version.contacts
    for key, value in change.items():
        if key == "name":
            name = str(value).strip()
        elif key == "contacts":
            contacts = tuple(dict(c) for c in value)
        elif value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    return Entity(version.id, name, attributes, contacts)


def same(one: Entity, other: Entity) -> bool:
    """Whether two versions hold the same name, attributes and contacts."""
    return (one.name, dict(one.attributes), [dict(c) for c in one.contacts]) == (
        other.name,
        dict(other.attributes),
        [dict(c) for c in other.contacts],
    )
