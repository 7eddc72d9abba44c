"""Finding instances: the entity's folded search text and the filtered, sorted, counted pages of them.

``entity.search`` holds the entity's id, name, region, former and later names and the names of its
earlier versions, lower-case and without accents (``folded``), so that "vege", "Végépolys" and
"VEGEPOLYS" all find Végépolys with one LIKE. It is written wherever an entity row is (registered,
or its version in force changed) and backfilled by migration 0012. Migration 0014 indexes it for
the partial match (a trigram full-text table on SQLite, a trigram GIN index on PostgreSQL) and the
region for its filter; a count filtered on nothing but workflow and state is read from the counters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import counters
from .reads import INSTANCE_COLUMNS
from .records import Instance, TimerStatus, instance_from_row
from .schema import entity, entity_version, instance, timer

SORTS = ("name", "state", "deadline")
SEARCHED_ATTRIBUTES = ("region", "former_name", "later_name")
_LIKE_ESCAPE = "\\"
_TRIGRAM = 3  # the shortest word the trigram index can find; shorter ones are matched by a scan
# SQLite's trigram index of ``entity.search`` and the stable key it is stored under (migration 0014).
_fts = sa.table("entity_search_fts", sa.column("rowid", sa.Integer), sa.column("search", sa.Text))
_key = sa.table("entity_search_key", sa.column("id", sa.Integer), sa.column("entity_id", sa.String))


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
    """The pending timers of the instance of the row, found by the ``(instance_id, status)`` index: the
    status is compared as an expression (``status || ''``) so that SQLite's planner does not walk the
    ``(status, due_at)`` index, every pending timer of the table, for each row."""
    status = timer.c.status.concat("")
    return sa.and_(timer.c.instance_id == instance.c.id, status == TimerStatus.PENDING.value)


def _matching(word: str, dialect: str) -> sa.ColumnElement[bool]:
    """``entity.search`` contains ``word`` (already folded): on SQLite, through the trigram index
    where the word is long enough and has no LIKE wildcard; PostgreSQL's index serves the LIKE itself."""
    contains = entity.c.search.like(_like(word), escape=_LIKE_ESCAPE)
    if dialect != "sqlite" or len(word) < _TRIGRAM or any(c in word for c in "%_\\"):
        return contains
    indexed = sa.select(_fts.c.rowid).where(_fts.c.search.like(f"%{word}%"))
    keys = sa.select(_key.c.entity_id).where(_key.c.id.in_(indexed))
    return sa.and_(entity.c.id.in_(keys), contains)


def _region(dialect: str) -> sa.ColumnElement[Any]:
    """The entity's region, spelt as its index is (region, name, id: migration 0018)."""
    if dialect == "sqlite":
        return sa.func.json_extract(entity.c.attributes, sa.literal_column("'$.region'"))
    return entity.c.attributes.op("->>")(sa.literal_column("'region'"))


def _filters(criteria: Criteria, dialect: str) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if criteria.workflow is not None:
        workflow: sa.ColumnElement[str] = instance.c.workflow
        if criteria.region and dialect == "sqlite":  # compared as an expression: SQLite then walks the region's
            workflow = workflow.concat("")  # index (0018) rather than every instance of the workflow for a count
        where.append(workflow == criteria.workflow)
    if criteria.states:
        where.append(instance.c.state.in_(list(criteria.states)))
    where.extend(_matching(w, dialect) for w in folded(criteria.text).split())
    if criteria.region:
        where.append(_region(dialect) == criteria.region)
    if criteria.due_before is not None:
        where.append(sa.exists().where(_pending(), timer.c.due_at < criteria.due_before))
    if criteria.late_at is not None:
        where.append(sa.exists().where(_pending(), timer.c.due_at <= criteria.late_at))
    return where


def _total(conn: Connection, criteria: Criteria, where: list[sa.ColumnElement[bool]]) -> int:
    """How many instances match: from the counters when only the workflow and states filter, else counted."""
    if not (folded(criteria.text) or criteria.region or criteria.due_before or criteria.late_at):
        return counters.count(conn, workflow=criteria.workflow, states=criteria.states)
    joined = instance.join(entity, entity.c.id == instance.c.entity_id)
    return int(conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)).scalar() or 0)


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
    where = _filters(criteria, conn.dialect.name)
    joined = instance.join(entity, entity.c.id == instance.c.entity_id)
    total = _total(conn, criteria, where)
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
    """The regions the registered entities name, sorted.

    Read from the region's index (migration 0018) by a skip scan: the least region, then the least
    one above it, and so on, one index seek per distinct region (13 or so) rather than a read of
    every entity, which a ``SELECT DISTINCT`` is on both backends at 100,000 of them."""
    region = _region(conn.dialect.name)
    walked = sa.select(sa.func.min(region).label("region")).cte("regions", recursive=True)
    above = sa.select(sa.func.min(region)).where(region > walked.c.region).scalar_subquery()
    walked = walked.union_all(sa.select(above).where(walked.c.region.is_not(None)))
    found = conn.execute(sa.select(walked.c.region).where(walked.c.region.is_not(None))).scalars()
    return sorted({str(r) for r in found if r}, key=folded)


def refold(conn: Connection, ids: Sequence[str]) -> None:
    """Write ``entity.search`` again for ``ids`` from their rows and versions."""
    for entity_id in ids:
        row = conn.execute(sa.select(entity.c.name, entity.c.attributes).where(entity.c.id == entity_id)).first()
        if row is not None:
            text = search_text(entity_id, row.name, row.attributes or {}, earlier_names(conn, entity_id))
            conn.execute(entity.update().where(entity.c.id == entity_id).values(search=text))
