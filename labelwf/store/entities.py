"""The statements of entities: which ids exist, registering new ones; erasing a database for a replay,
and the marks a database carries about itself (``replay``: created by a replay, partial or complete)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .records import Entity
from .schema import batch, entity, entity_version, event, instance, letter, mark, timer
from .search import search_text

_CHUNK = 500  # ids per IN (...) list


def existing_entities(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are already registered."""
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        found.update(str(i) for i in conn.execute(sa.select(entity.c.id).where(entity.c.id.in_(chunk))).scalars())
    return found


def insert_entities(conn: Connection, entities: Iterable[Entity], now: datetime) -> None:
    """Register entities (their ids must be new)."""
    rows = [
        {
            "id": e.id,
            "name": e.name,
            "attributes": dict(e.attributes),
            "contacts": list(e.contacts),
            "created_at": now,
            "search": search_text(e.id, e.name, e.attributes),
        }
        for e in entities
    ]
    if rows:
        conn.execute(entity.insert(), rows)


def erase_everything(conn: Connection) -> int:
    """Delete every letter, timer, entity version, event, instance and entity; return how many
    instances there were."""
    count = int(conn.execute(sa.select(sa.func.count()).select_from(instance)).scalar() or 0)
    for table in (letter, timer, entity_version, event, instance, entity):
        conn.execute(table.delete())
    return count


def get_mark(conn: Connection, name: str) -> str | None:
    """The value of the database's mark ``name``, or None when it has none."""
    value = conn.execute(sa.select(mark.c.value).where(mark.c.name == name)).scalar()
    return None if value is None else str(value)


def set_mark(conn: Connection, name: str, value: str, now: datetime) -> None:
    """Set the database's mark ``name`` to ``value``."""
    conn.execute(mark.delete().where(mark.c.name == name))
    conn.execute(mark.insert().values(name=name, value=value, set_at=now))


_REQUEST = re.compile(r"; request [^)]*\)$")


def acts_besides(conn: Connection, prefix: str) -> tuple[bool, list[tuple[str, int]]]:
    """Whether any event's principal starts with ``prefix`` (a replay's), and who else acted: each
    other principal (``None`` for events recorded before principals were) with its count of events
    and plans, most first. The daemon's events (role ``system``) are not counted: they follow from the
    state the replay left."""
    marked = event.c.principal.like(f"{prefix}%")
    found = conn.execute(sa.select(event.c.id).where(marked).limit(1)).first() is not None
    counts: dict[str, int] = {}
    for table in (event, batch):
        others = sa.select(table.c.principal, sa.func.count()).where(
            sa.or_(table.c.principal.is_(None), ~table.c.principal.like(f"{prefix}%"))
        )
        if table is event:  # the daemon's deadlines follow from the replay's own state: nobody acted
            others = others.where(event.c.role != "system")
        for principal, count in conn.execute(others.group_by(table.c.principal)):
            # An API principal names its request ("alice (token 7; request 3f2a…)"): count by account.
            key = "(not recorded)" if principal is None else _REQUEST.sub(")", str(principal))
            counts[key] = counts.get(key, 0) + int(count)
    return found, sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def erasable(conn: Connection) -> dict[str, int]:
    """What ``erase_everything`` would delete: the rows of each table."""
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
        for table in (entity, entity_version, instance, event, timer, letter)
    }
