"""The read side: typed records, listings paged by keyset cursors, and nothing that writes.

A page is read with one indexed range scan after the cursor (``WHERE key > :last ORDER BY key
LIMIT n+1``), never an OFFSET, so its cost does not grow with the table; how many items remain
after it is counted up to ``MORE_CAP`` for the same reason. A cursor is an opaque string that
names its listing, so one listing's cursor is refused by another (``InvalidCursor``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import InvalidCursor
from .records import (
    Event,
    Instance,
    Letter,
    LetterStatus,
    Page,
    Timer,
    TimerStatus,
    event_from_row,
    instance_from_row,
    letter_from_row,
    timer_from_row,
)
from .schema import UTCDateTime, entity, event, instance, letter, timer

_i, _e, _t, _l, _n = instance, event, timer, letter, entity
MORE_CAP = 500  # "how many more" is counted up to this many (a bounded cost per page)
MAX_PAGE = 1000  # the largest page one call returns
T = TypeVar("T")

INSTANCE_COLUMNS = (
    _i.c.id,
    _i.c.entity_id,
    _i.c.workflow,
    _i.c.workflow_version,
    _i.c.state,
    _i.c.data,
    _i.c.version,
    _i.c.last_hash,
    _i.c.entered_at,
    _i.c.updated_at,
    _n.c.name,
    _n.c.attributes,
    _n.c.contacts,
)


# -- cursors ------------------------------------------------------------------------------------


def encode_cursor(listing: str, key: Sequence[Any]) -> str:
    """An opaque cursor for the item with ``key`` of ``listing``."""
    raw = json.dumps([listing, [v.isoformat() if isinstance(v, datetime) else v for v in key]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, listing: str, arity: int) -> list[Any]:
    """The key a cursor of ``listing`` stands for; ``InvalidCursor`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        kind, key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidCursor(cursor, listing) from None
    if kind != listing or not isinstance(key, list) or len(key) != arity:
        raise InvalidCursor(cursor, listing)
    if not all(_sane(v) for v in key):
        raise InvalidCursor(cursor, listing)
    return key


def _sane(value: Any) -> bool:
    """A cursor's part as this code writes them: an id within a 64-bit column, or a short text."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**62) < value < 2**62
    return isinstance(value, str) and len(value) <= 200 and value.isprintable()


def _page(
    conn: Connection,
    query: sa.Select[Any],
    limit: int,
    build: Callable[[Any], T],
    listing: str,
    key: Callable[[Any], Sequence[Any]],
    rest: Callable[[Sequence[Any]], sa.Select[Any]],
) -> Page[T]:
    """One page of a keyset ``query`` (filtered after the cursor, ordered by ``key``).

    ``rest(key)`` selects what comes after an item's key: counted, up to ``MORE_CAP``, when the
    page is full.
    """
    limit = max(1, min(limit, MAX_PAGE))
    rows = conn.execute(query.limit(limit + 1)).mappings().all()
    items = tuple(build(r) for r in rows[:limit])
    if len(rows) <= limit:
        return Page(items, None, 0)
    last = key(rows[limit - 1])
    counted = sa.select(sa.func.count()).select_from(rest(last).limit(MORE_CAP).subquery())
    more = int(conn.execute(counted).scalar() or 0)
    return Page(items, encode_cursor(listing, last), more, MORE_CAP if more >= MORE_CAP else None)


# -- instances ------------------------------------------------------------------------------------


def _instance_filters(workflow: str | None, state: str | None) -> list[sa.ColumnElement[bool]]:
    where = []
    if workflow is not None:
        where.append(_i.c.workflow == workflow)
    if state is not None:
        where.append(_i.c.state == state)
    return where


def _instances(workflow: str | None, state: str | None) -> sa.Select[Any]:
    return sa.select(*INSTANCE_COLUMNS).join(_n, _n.c.id == _i.c.entity_id).where(*_instance_filters(workflow, state))


def _after_instance(workflow: str | None, key: Sequence[Any]) -> sa.ColumnElement[bool]:
    """After ``key`` in (entity, workflow) order; within one workflow, after the entity alone, so that
    the (workflow, entity) and (workflow, state, entity) indexes serve the range."""
    if workflow is not None:
        after: sa.ColumnElement[bool] = _i.c.entity_id > key[0] if key[1] >= workflow else _i.c.entity_id >= key[0]
        return after
    return sa.tuple_(_i.c.entity_id, _i.c.workflow) > sa.tuple_(sa.literal(key[0]), sa.literal(key[1]))


def list_instances(
    conn: Connection,
    *,
    workflow: str | None = None,
    state: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page[Instance]:
    """Instances ordered by entity id (then workflow), optionally of one workflow and in one state."""
    query = _instances(workflow, state)
    if after is not None:
        key = decode_cursor(after, "list", 2)
        if not all(isinstance(k, str) for k in key):
            raise InvalidCursor(after, "list")
        # The entity side of the join gets the same bound: a planner does not carry a range across "=".
        query = query.where(_after_instance(workflow, key), _n.c.id >= key[0])
    # Within one workflow the entity alone orders the instances: the (workflow, entity) index's order.
    query = query.order_by(_i.c.entity_id) if workflow is not None else query.order_by(_i.c.entity_id, _i.c.workflow)

    def rest(key: Sequence[Any]) -> sa.Select[Any]:
        # Ordered, so the count walks the index from the cursor instead of scanning the table.
        following = sa.select(_i.c.id).where(*_instance_filters(workflow, state), _after_instance(workflow, key))
        return following.order_by(_i.c.entity_id, _i.c.workflow)

    return _page(conn, query, limit, instance_from_row, "list", lambda r: (r["entity_id"], r["workflow"]), rest)


def find_instances(conn: Connection, entity_id: str, workflow: str | None = None) -> list[Instance]:
    """The instances of one entity (in every workflow, or in ``workflow``)."""
    query = _instances(workflow, None).where(_i.c.entity_id == entity_id).order_by(_i.c.workflow)
    return [instance_from_row(r) for r in conn.execute(query).mappings()]


def state_counts(conn: Connection, workflow: str) -> dict[str, int]:
    """How many instances of ``workflow`` are in each state that holds some."""
    query = sa.select(_i.c.state, sa.func.count()).where(_i.c.workflow == workflow).group_by(_i.c.state)
    return {str(state): int(count) for state, count in conn.execute(query)}


def count_instances(conn: Connection) -> int:
    """How many instances the database holds."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(_i)).scalar() or 0)


# -- one instance's events, timers and letters ---------------------------------------------------


def history(conn: Connection, target: Instance, *, after: str | None = None, limit: int = 100) -> Page[Event]:
    """The events of an instance, oldest first."""
    query = sa.select(_e).where(_e.c.instance_id == target.id)
    start = -1 if after is None else decode_cursor(after, "history", 1)[0]
    if not isinstance(start, int):
        raise InvalidCursor(str(after), "history")
    query = query.where(_e.c.seq > start).order_by(_e.c.seq)

    def rest(key: Sequence[Any]) -> sa.Select[Any]:
        return sa.select(_e.c.id).where(_e.c.instance_id == target.id, _e.c.seq > key[0]).order_by(_e.c.seq)

    def build(row: Any) -> Event:
        return event_from_row(row, target.entity.id, target.workflow)

    return _page(conn, query, limit, build, "history", lambda r: (r["seq"],), rest)


def last_event_at(conn: Connection, instance_id: int) -> datetime | None:
    """When the latest event of an instance occurred (its business time)."""
    query = sa.select(_e.c.occurred_at).where(_e.c.instance_id == instance_id).order_by(_e.c.seq.desc()).limit(1)
    found: datetime | None = conn.execute(query).scalar_one_or_none()
    return found


def timers_of(conn: Connection, target: Instance) -> list[Timer]:
    """The pending timers of one instance, soonest first."""
    query = (
        sa.select(_t, _i.c.entity_id, _i.c.workflow)
        .join(_i, _i.c.id == _t.c.instance_id)
        .where(_t.c.instance_id == target.id, _t.c.status == TimerStatus.PENDING.value)
        .order_by(_t.c.due_at, _t.c.id)
    )
    return [timer_from_row(r) for r in conn.execute(query).mappings()]


def timers_named(conn: Connection, target: Instance, name: str) -> list[Timer]:
    """Every timer ``name`` of one instance, whatever its status, the latest armed first."""
    query = (
        sa.select(_t, _i.c.entity_id, _i.c.workflow)
        .join(_i, _i.c.id == _t.c.instance_id)
        .where(_t.c.instance_id == target.id, _t.c.name == name)
        .order_by(_t.c.id.desc())
    )
    return [timer_from_row(r) for r in conn.execute(query).mappings()]


def get_timer(conn: Connection, timer_id: int) -> Timer | None:
    """One timer by its id, whatever its status (with its instance's entity and workflow), or None."""
    query = (
        sa.select(_t, _i.c.entity_id, _i.c.workflow).join(_i, _i.c.id == _t.c.instance_id).where(_t.c.id == timer_id)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else timer_from_row(row)


def pending_timers(
    conn: Connection, *, due_before: datetime | None = None, after: str | None = None, limit: int = 100
) -> Page[Timer]:
    """Pending timers across the portfolio, soonest first (optionally only those due before an instant)."""

    def base() -> sa.Select[Any]:
        query = (
            sa.select(_t, _i.c.entity_id, _i.c.workflow)
            .join(_i, _i.c.id == _t.c.instance_id)
            .where(_t.c.status == TimerStatus.PENDING.value)
        )
        return query.where(_t.c.due_at < due_before) if due_before is not None else query

    def after_key(key: Sequence[Any]) -> sa.Select[Any]:
        due = sa.literal(datetime.fromisoformat(str(key[0])), UTCDateTime)
        return base().where(sa.tuple_(_t.c.due_at, _t.c.id) > sa.tuple_(due, sa.literal(key[1])))

    query = base()
    if after is not None:
        key = decode_cursor(after, "timers", 2)
        try:
            instant = datetime.fromisoformat(str(key[0]))
            if instant.utcoffset() is None:
                raise ValueError("naive")
            instant.astimezone(UTC)
        except (ValueError, OverflowError):
            raise InvalidCursor(after, "timers") from None
        query = after_key(key)
    query = query.order_by(_t.c.due_at, _t.c.id)

    def rest(key: Sequence[Any]) -> sa.Select[Any]:
        following = after_key([k.isoformat() if isinstance(k, datetime) else k for k in key])
        return following.with_only_columns(_t.c.id).order_by(_t.c.due_at, _t.c.id)

    return _page(conn, query, limit, timer_from_row, "timers", lambda r: (r["due_at"], r["id"]), rest)


def next_due(conn: Connection, *, excluding: Collection[int] = ()) -> datetime | None:
    """When the soonest pending timer falls due (one indexed query), or None."""
    query = sa.select(sa.func.min(_t.c.due_at)).where(_t.c.status == TimerStatus.PENDING.value)
    if excluding:
        query = query.where(_t.c.id.not_in(sorted(excluding)))
    found: datetime | None = conn.execute(query).scalar()
    return found


def pending_summary(conn: Connection) -> tuple[int, datetime | None]:
    """How many timers are pending, and when the soonest falls due."""
    count, soonest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(_t.c.due_at)).where(_t.c.status == TimerStatus.PENDING.value)
    ).one()
    return int(count), soonest


# -- letters ----------------------------------------------------------------------------------------

_LETTER_SUMMARY = (
    _l.c.id,
    _i.c.entity_id,
    _l.c.template,
    _l.c.recipient,
    _l.c.recipient_label,
    _l.c.recipient_name,
    _l.c.recipient_address,
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
    _l.c.post,
    _l.c.signed_at,
    _l.c.pdf_sha256,
    _l.c.signed_demonstration,
    _l.c.signed_by,
)


def _letters(*columns: Any) -> sa.Select[Any]:
    return (
        sa.select(*_LETTER_SUMMARY, *columns).join(_i, _i.c.id == _l.c.instance_id).join(_e, _e.c.id == _l.c.event_id)
    )


def list_letters(
    conn: Connection,
    *,
    entity_id: str | None = None,
    status: LetterStatus | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page[Letter]:
    """Letters of the outbox, newest first (optionally one entity's, or in one status)."""

    def filtered(query: sa.Select[Any]) -> sa.Select[Any]:
        if entity_id is not None:
            query = query.where(_i.c.entity_id == entity_id)
        if status is not None:
            query = query.where(_l.c.status == status.value)
        return query

    query = filtered(_letters())
    if after is not None:
        start = decode_cursor(after, "letters", 1)[0]
        if not isinstance(start, int):
            raise InvalidCursor(after, "letters")
        query = query.where(_l.c.id < start)
    query = query.order_by(_l.c.id.desc())

    def rest(key: Sequence[Any]) -> sa.Select[Any]:
        following = filtered(sa.select(_l.c.id).join(_i, _i.c.id == _l.c.instance_id)).where(_l.c.id < key[0])
        return following.order_by(_l.c.id.desc())

    return _page(conn, query, limit, letter_from_row, "letters", lambda r: (r["id"],), rest)


def letters_of(conn: Connection, target: Instance) -> list[Letter]:
    """Every letter of one instance, oldest first (without bodies)."""
    query = _letters().where(_l.c.instance_id == target.id).order_by(_l.c.id)
    return [letter_from_row(r) for r in conn.execute(query).mappings()]


def get_letter(conn: Connection, letter_id: int) -> Letter | None:
    """One letter with its frozen text and HTML, or None."""
    row = conn.execute(_letters(_l.c.body, _l.c.body_html).where(_l.c.id == letter_id)).mappings().first()
    return None if row is None else letter_from_row(row)


def letter_basis(conn: Connection, letter_id: int) -> Any:
    """The stored basis (JSON) of the event that queued a letter: None for an act that is its own record."""
    query = sa.select(event.c.basis).join(letter, letter.c.event_id == event.c.id).where(letter.c.id == letter_id)
    return conn.execute(query).scalar()


def letter_counts(conn: Connection) -> dict[str, int]:
    """How many letters each template wrote."""
    query = sa.select(_l.c.template, sa.func.count()).group_by(_l.c.template)
    return {str(template): int(count) for template, count in conn.execute(query)}


# -- the audit chain, streamed ----------------------------------------------------------------------


def chain_heads(conn: Connection, entity_id: str | None = None) -> dict[int, tuple[str, str, int, str]]:
    """Each instance's (entity, workflow, version, last hash), by instance id."""
    query = sa.select(_i.c.id, _i.c.entity_id, _i.c.workflow, _i.c.version, _i.c.last_hash)
    if entity_id is not None:
        query = query.where(_i.c.entity_id == entity_id)
    return {r.id: (r.entity_id, r.workflow, r.version, r.last_hash) for r in conn.execute(query)}


def chain_rows(conn: Connection, entity_id: str | None = None) -> Iterator[Any]:
    """Every event (or one entity's) with its instance's head (``entity_id``, ``workflow``,
    ``head_version``, ``head_hash``), by instance then seq, streamed in chunks: memory stays flat."""
    query = (
        sa.select(
            _e, _i.c.entity_id, _i.c.workflow, _i.c.version.label("head_version"), _i.c.last_hash.label("head_hash")
        )
        .join(_i, _i.c.id == _e.c.instance_id)
        .order_by(_e.c.instance_id, _e.c.seq)
    )
    if entity_id is not None:
        query = query.where(_i.c.entity_id == entity_id)
    yield from conn.execution_options(yield_per=2000).execute(query).mappings()


def count_chains(conn: Connection, entity_id: str | None = None) -> int:
    """How many instances (of one entity) the audit trail has chains for."""
    query = sa.select(sa.func.count()).select_from(_i)
    if entity_id is not None:
        query = query.where(_i.c.entity_id == entity_id)
    return int(conn.execute(query).scalar() or 0)


def chains_without_events(conn: Connection, entity_id: str | None = None) -> list[tuple[str, str]]:
    """(entity, workflow) of the instances that have no event at all (their chain was erased)."""
    query = sa.select(_i.c.entity_id, _i.c.workflow).where(~sa.exists().where(_e.c.instance_id == _i.c.id))
    if entity_id is not None:
        query = query.where(_i.c.entity_id == entity_id)
    return [(str(e), str(w)) for e, w in conn.execute(query)]


def letter_status_counts(conn: Connection, *, waiting_only: bool = False) -> dict[str, int]:
    """How many letters are in each delivery status; ``waiting_only``: all but the delivered ones, read
    from the status index's other ranges, so the count follows the backlog, not the outbox's history."""
    query = sa.select(_l.c.status, sa.func.count()).group_by(_l.c.status)
    if waiting_only:
        query = query.where(_l.c.status.in_([s.value for s in LetterStatus if s is not LetterStatus.DELIVERED]))
    return {str(status): int(count) for status, count in conn.execute(query)}


def state_counts_of_version(conn: Connection, workflow: str, version: int) -> dict[str, int]:
    """How many instances of one version of ``workflow`` are in each state that holds some."""
    query = (
        sa.select(_i.c.state, sa.func.count())
        .where(_i.c.workflow == workflow, _i.c.workflow_version == version)
        .group_by(_i.c.state)
    )
    return {str(state): int(count) for state, count in conn.execute(query)}
