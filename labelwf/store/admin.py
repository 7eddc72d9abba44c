"""The statements of the administrative acts' chain: its head (locked by each writer), its events in order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .schema import admin_event, admin_head

HEAD_ID = 1
_PAGE = 1000  # events read per query when the chain is streamed


def lock_head(conn: Connection) -> tuple[int, str] | None:
    """The head (last seq, last hash), locked until the transaction ends; None if its row is gone.

    On PostgreSQL ``FOR UPDATE`` queues the writers of administrative acts one behind the other
    (two acts never take the same seq); SQLite's writers already queue on ``BEGIN IMMEDIATE``.
    """
    query = sa.select(admin_head.c.seq, admin_head.c.last_hash).where(admin_head.c.id == HEAD_ID)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).first()
    return None if found is None else (int(found[0]), str(found[1]))


def head(conn: Connection) -> tuple[int, str] | None:
    """The head (last seq, last hash), or None if its row is gone."""
    found = conn.execute(sa.select(admin_head.c.seq, admin_head.c.last_hash).where(admin_head.c.id == HEAD_ID)).first()
    return None if found is None else (int(found[0]), str(found[1]))


def hash_at(conn: Connection, seq: int) -> str | None:
    """The hash of the act ``seq``, or None if there is none."""
    found = conn.execute(sa.select(admin_event.c.hash).where(admin_event.c.seq == seq)).scalar()
    return None if found is None else str(found)


def hash_format_of(conn: Connection, seq: int) -> int | None:
    """The hash format of the event ``seq``, or None if there is none."""
    found = conn.execute(sa.select(admin_event.c.hash_format).where(admin_event.c.seq == seq)).scalar()
    return None if found is None else int(found)


def append(conn: Connection, values: Mapping[str, Any]) -> None:
    """Insert an event and move the head to it (the caller holds the head's lock)."""
    conn.execute(admin_event.insert().values(**values))
    conn.execute(
        admin_head.update().where(admin_head.c.id == HEAD_ID).values(seq=values["seq"], last_hash=values["hash"])
    )


def events(conn: Connection, *, subject: str | None = None, newest: int | None = None) -> Iterator[RowMapping]:
    """The events in seq order (of one ``subject``; only the ``newest`` N), read a page at a time."""
    after = 0
    if newest is not None:
        query = sa.select(admin_event.c.seq).order_by(admin_event.c.seq.desc()).limit(newest)
        if subject is not None:
            query = query.where(admin_event.c.subject == subject)
        seqs = list(conn.execute(query).scalars())
        after = min(seqs) - 1 if seqs else 2**31 - 1
    while True:
        query = sa.select(admin_event).where(admin_event.c.seq > after).order_by(admin_event.c.seq).limit(_PAGE)
        if subject is not None:
            query = query.where(admin_event.c.subject == subject)
        rows = list(conn.execute(query).mappings())
        yield from rows
        if len(rows) < _PAGE:
            return
        after = int(rows[-1]["seq"])
