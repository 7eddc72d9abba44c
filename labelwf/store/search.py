"""Finding instances: the entity's folded search text and the filtered, sorted, counted pages of them.

``entity.search`` holds the entity's id, name, region, former and later names and the names of its
earlier versions, lower-case and without accents (``folded``), so that "vege", "Végépolys" and
"VEGEPOLYS" all find Végépolys with one LIKE. It is written wherever an entity row is (registered,
or its version in force changed) and backfilled by migration 0012.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .reads import INSTANCE_COLUMNS
from .records import Instance, TimerStatus, instance_from_row
from .schema import entity, entity_version, instance, timer

SORTS = ("name", "state", "deadline")
SEARCHED_ATTRIBUTES = ("region", "former_name", "later_name")
_LIKE_ESCAPE = "\\"


def folded(text: str) -> str:
    """``text`` lower-case, without accents, its blanks as single spaces ("Végépolys" → "vegepolys")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def search_text(entity_id: str, name: str, attributes: Mapping[str, Any], earlier_names: Iterable[str] = ()) -> str:
    """What a search matches an entity on: id, name, region, former and later names, earlier names."""
    parts = [entity_id, name, *(str(attributes.get(a) or "") for a in SEARCHED_ATTRIBUTES), *earlier_names]
    return folded(" | ".join(dict.fromkeys(p for p in parts if p)))


def earlier_names(conn: Connection, entity_id: str) -> list[str]:
    """The names ``entity_id`` carried in its recorded versions."""
    query = sa.select(entity_version.c.name).where(entity_version.c.entity_id == entity_id)
    return [str(n) for n in conn.execute(query).scalars()]


@dataclass(frozen=True)
class Criteria:
    """What a list of instances is filtered on; None or empty: not filtered."""

    text: str = ""
    workflow: str | None = None
    states: tuple[str, ...] = ()
    region: str = ""
    due_before: datetime | None = None
    late_at: datetime | None = None  # only instances with a pending deadline passed at this instant


@dataclass(frozen=True)
class Found:
    """One instance found, with its next pending deadline."""

    instance: Instance
    next_due: datetime | None


@dataclass(frozen=True)
class Results:
    """A page of found instances and how many match in all."""

    items: tuple[Found, ...]
    total: int
    offset: int
    limit: int


def _like(text: str) -> str:
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _pending() -> sa.ColumnElement[bool]:
    return sa.and_(timer.c.instance_id == instance.c.id, timer.c.status == TimerStatus.PENDING.value)


def _filters(criteria: Criteria) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if criteria.workflow is not None:
        where.append(instance.c.workflow == criteria.workflow)
    if criteria.states:
        where.append(instance.c.state.in_(list(criteria.states)))
    words = folded(criteria.text).split()
    where.extend(entity.c.search.like(_like(w), escape=_LIKE_ESCAPE) for w in words)
    if criteria.region:
        where.append(entity.c.attributes["region"].as_string() == criteria.region)
    if criteria.due_before is not None:
        where.append(sa.exists().where(_pending(), timer.c.due_at < criteria.due_before))
    if criteria.late_at is not None:
        where.append(sa.exists().where(_pending(), timer.c.due_at <= criteria.late_at))
    return where


def search_instances(
    conn: Connection,
    criteria: Criteria,
    *,
    sort: str = "name",
    descending: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> Results:
    """The instances matching ``criteria``, sorted by ``sort`` (name, state, deadline), a page of them."""
    next_due = sa.select(sa.func.min(timer.c.due_at)).where(_pending()).scalar_subquery().label("next_due")
    where = _filters(criteria)
    joined = instance.join(entity, entity.c.id == instance.c.entity_id)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar() or 0)
    key = {"name": entity.c.name, "state": instance.c.state, "deadline": next_due}[sort]
    primary = key.desc() if descending else key.asc()
    if sort == "deadline":  # the instances without a deadline last, whichever the direction
        primary = sa.nulls_last(primary)
    query = (
        sa.select(*INSTANCE_COLUMNS, next_due)
        .select_from(joined)
        .where(*where)
        .order_by(primary, entity.c.id, instance.c.workflow)
        .offset(offset)
        .limit(limit)
    )
    rows = conn.execute(query).mappings().all()
    return Results(tuple(Found(instance_from_row(r), _aware(r["next_due"])) for r in rows), total, offset, limit)


def _aware(value: Any) -> datetime | None:
    """A due instant read back from the subquery: aware UTC on every backend."""
    if value is None:
        return None
    due: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value  # SQLite may hand back text
    return due.replace(tzinfo=UTC) if due.tzinfo is None else due.astimezone(UTC)


def regions(conn: Connection) -> list[str]:
    """The regions the registered entities name, sorted."""
    column = entity.c.attributes["region"].as_string()
    found = conn.execute(sa.select(column).where(column.is_not(None)).distinct()).scalars()
    return sorted({str(r) for r in found if r}, key=folded)


def refold(conn: Connection, ids: Sequence[str]) -> None:
    """Write ``entity.search`` again for ``ids`` from their rows and versions."""
    for entity_id in ids:
        row = conn.execute(sa.select(entity.c.name, entity.c.attributes).where(entity.c.id == entity_id)).first()
        if row is not None:
            text = search_text(entity_id, row.name, row.attributes or {}, earlier_names(conn, entity_id))
            conn.execute(entity.update().where(entity.c.id == entity_id).values(search=text))
