"""The statements of letter delivery: what is due, claims with a lease, and the outcome of each attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .records import Event, Letter, LetterStatus, event_from_row, letter_from_row
from .schema import event, instance, letter

_l, _i, _e = letter, instance, event
_WAITING = (LetterStatus.PENDING.value, LetterStatus.RETRY.value)


def _due(now: datetime, held_post: str | None) -> sa.ColumnElement[bool]:
    due = _l.c.status.in_(_WAITING) & sa.or_(_l.c.next_attempt_at.is_(None), _l.c.next_attempt_at <= now)
    if held_post is not None:  # the letters of that post wait for what signs them (the notices, for the seal)
        due &= sa.or_(_l.c.post.is_(None), _l.c.post != held_post)
    return due


def due_letters(conn: Connection, now: datetime, limit: int, *, held_post: str | None = None) -> list[int]:
    """Ids of the letters waiting to be delivered (new, or whose retry is due), oldest first, but
    those of ``held_post``."""
    query = sa.select(_l.c.id).where(_due(now, held_post)).order_by(_l.c.id).limit(limit)
    return [int(i) for i in conn.execute(query).scalars()]


def count_due(conn: Connection, now: datetime, *, held_post: str | None = None) -> int:
    """How many letters wait to be delivered now, but those of ``held_post``."""
    return int(conn.execute(sa.select(sa.func.count()).where(_due(now, held_post))).scalar() or 0)


def count_held(conn: Connection, post: str) -> int:
    """How many letters of ``post`` wait for delivery (new or to retry), whenever due."""
    query = sa.select(sa.func.count()).where(_l.c.status.in_(_WAITING), _l.c.post == post)
    return int(conn.execute(query).scalar() or 0)


def _stale(now: datetime) -> sa.ColumnElement[bool]:
    return (_l.c.status == LetterStatus.SENDING.value) & (_l.c.next_attempt_at < now)


def has_expired_claims(conn: Connection, now: datetime) -> bool:
    """Whether a sender left claims whose lease ran out (it died or was killed)."""
    return conn.execute(sa.select(_l.c.id).where(_stale(now)).limit(1)).first() is not None


def expire_claims(conn: Connection, now: datetime, uncertain_note: str) -> int:
    """Expired claims: e-mailed ones become uncertain (with ``uncertain_note``), files-only ones retried.

    Returns how many became uncertain.
    """
    uncertain = conn.execute(
        _l.update()
        .where(_stale(now), _l.c.message_id.is_not(None))
        .values(status=LetterStatus.UNCERTAIN.value, last_error=uncertain_note)
    ).rowcount
    conn.execute(_l.update().where(_stale(now), _l.c.message_id.is_(None)).values(status=LetterStatus.RETRY.value))
    return int(uncertain)


def claim_letter(conn: Connection, letter_id: int, *, lease_until: datetime, by_mail: bool) -> Letter | None:
    """Take one waiting letter for delivery (bodies loaded); None if another sender took it first.

    ``by_mail``: whether a letter with an e-mail address will be e-mailed, in which case its
    Message-ID is fixed in the claim, before anything is sent.
    """
    row = (
        conn.execute(
            sa.select(_l, _i.c.entity_id, _e.c.occurred_at)
            .join(_i, _i.c.id == _l.c.instance_id)
            .join(_e, _e.c.id == _l.c.event_id)
            .where(_l.c.id == letter_id, _l.c.status.in_(_WAITING))
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    found = letter_from_row(row)
    mid = message_id(found.id, found.checksum) if by_mail and found.recipient.email else None
    taken = conn.execute(
        _l.update()
        .where(_l.c.id == letter_id, _l.c.status.in_(_WAITING))
        .values(
            status=LetterStatus.SENDING.value,
            attempts=_l.c.attempts + 1,
            next_attempt_at=lease_until,
            message_id=mid,
        )
    ).rowcount
    if taken != 1:
        return None
    return letter_from_row({**row, "message_id": mid, "attempts": found.attempts + 1, "status": "sending"})


def queuing_event(conn: Connection, letter_id: int) -> Event:
    """The audit event that queued a letter (whose record holds the letter's checksum)."""
    row = (
        conn.execute(
            sa.select(_e, _i.c.entity_id, _i.c.workflow)
            .join(_l, _l.c.event_id == _e.c.id)
            .join(_i, _i.c.id == _e.c.instance_id)
            .where(_l.c.id == letter_id)
        )
        .mappings()
        .one()
    )
    return event_from_row(row, row["entity_id"], row["workflow"])


def message_id(letter_id: int, checksum: str) -> str:
    """The Message-ID of a letter: derived from its id and frozen content, so the same letter keeps it."""
    return f"<letter-{letter_id}-{checksum[:16]}@labelwf>"


def mark_delivered(conn: Connection, delivered: Letter, now: datetime) -> None:
    """Record that a claimed letter was filed (and sent, if it had a Message-ID)."""
    conn.execute(
        _l.update()
        .where(_l.c.id == delivered.id)
        .values(
            status=LetterStatus.DELIVERED.value,
            delivered_at=now,
            filed_at=now,
            last_error=None,
            next_attempt_at=None,
            sent_at=now if delivered.message_id else None,
        )
    )


def mark_failed(conn: Connection, failed: Letter, error: str, retry_at: datetime | None) -> None:
    """Record a failed attempt: retried at ``retry_at``, or failed for good when it is None."""
    conn.execute(
        _l.update()
        .where(_l.c.id == failed.id)
        .values(
            status=(LetterStatus.RETRY if retry_at is not None else LetterStatus.FAILED).value,
            last_error=error,
            message_id=None,
            next_attempt_at=retry_at,
        )
    )


def letter_for_action(conn: Connection, letter_id: int) -> RowMapping | None:
    """A letter's status and what names it (entity, workflow, template, recipient), for an operator's action."""
    query = (
        sa.select(_l.c.id, _l.c.status, _l.c.template, _l.c.recipient, _i.c.entity_id, _i.c.workflow)
        .join(_i, _i.c.id == _l.c.instance_id)
        .where(_l.c.id == letter_id)
    )
    return conn.execute(query).mappings().first()


def set_letter_status(conn: Connection, letter_id: int, was: str, **values: Any) -> int:
    """Change a letter that is still in status ``was``; return how many rows changed (0: it moved meanwhile)."""
    statement = _l.update().where(_l.c.id == letter_id, _l.c.status == was).values(**values)
    return int(conn.execute(statement).rowcount)
