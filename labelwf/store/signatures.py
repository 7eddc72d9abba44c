"""The statements of the signature step: a post's queue, a letter signed or sent back, a PDF found by its sha256."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .reads import _letters
from .records import Letter, LetterStatus, letter_from_row
from .schema import event, instance, letter

_l, _i, _e = letter, instance, event


def waiting(conn: Connection, post: str | None, *, limit: int, after: int | None = None) -> list[Letter]:
    """Letters waiting « à signer » for ``post`` (None: every post's), oldest first, without bodies."""
    query = _letters().where(_l.c.status == LetterStatus.TO_SIGN.value)
    if post is not None:
        query = query.where(_l.c.post == post)
    if after is not None:
        query = query.where(_l.c.id > after)
    return [letter_from_row(r) for r in conn.execute(query.order_by(_l.c.id).limit(limit)).mappings()]


def count_waiting(conn: Connection, post: str | None) -> int:
    """How many letters wait « à signer » for ``post`` (None: for every post)."""
    query = sa.select(sa.func.count()).where(_l.c.status == LetterStatus.TO_SIGN.value)
    if post is not None:
        query = query.where(_l.c.post == post)
    return int(conn.execute(query).scalar() or 0)


def waiting_ids(conn: Connection, post: str) -> list[int]:
    """The ids of every letter waiting for ``post``, oldest first."""
    query = sa.select(_l.c.id).where(_l.c.status == LetterStatus.TO_SIGN.value, _l.c.post == post)
    return [int(i) for i in conn.execute(query.order_by(_l.c.id)).scalars()]


def mark_signed(
    conn: Connection,
    letter_id: int,
    *,
    signed_at: datetime,
    pdf: bytes,
    sha256: str,
    demonstration: bool = False,
    signed_by: str | None = None,
) -> int:
    """A letter still ``to_sign`` becomes pending delivery with its signed PDF; how many rows changed.

    ``demonstration``: signed with a demonstration certificate (its bodies then say so); ``signed_by``:
    the name its signature block then says."""
    statement = (
        _l.update()
        .where(_l.c.id == letter_id, _l.c.status == LetterStatus.TO_SIGN.value)
        .values(
            status=LetterStatus.PENDING.value,
            signed_at=signed_at,
            signed_pdf=pdf,
            pdf_sha256=sha256,
            signed_demonstration=demonstration,
            signed_by=signed_by,
        )
    )
    return int(conn.execute(statement).rowcount)


def mark_returned(conn: Connection, letter_id: int) -> int:
    """A letter still ``to_sign`` is sent back (never delivered); how many rows changed."""
    statement = (
        _l.update()
        .where(_l.c.id == letter_id, _l.c.status == LetterStatus.TO_SIGN.value)
        .values(status=LetterStatus.RETURNED.value)
    )
    return int(conn.execute(statement).rowcount)


def signed_pdf(conn: Connection, letter_id: int) -> bytes | None:
    """The signed PDF of a letter, or None when it has none."""
    found = conn.execute(sa.select(_l.c.signed_pdf).where(_l.c.id == letter_id)).scalar()
    return None if found is None else bytes(found)


def letters_of_pdf(conn: Connection, sha256: str) -> list[Letter]:
    """The letters whose signed PDF has this sha256 (one, unless two PDFs collide), without bodies."""
    query = _letters().where(_l.c.pdf_sha256 == sha256).order_by(_l.c.id)
    return [letter_from_row(r) for r in conn.execute(query).mappings()]


def signature_event(conn: Connection, instance_id: int, letter_id: int, sha256: str) -> tuple[int, str] | None:
    """The (seq, hash) of the chain event that recorded this letter's signature (or a notice's seal) with this
    sha256, or None."""
    query = (
        sa.select(_e.c.seq, _e.c.hash, _e.c.data)
        .where(_e.c.instance_id == instance_id, _e.c.trigger.in_(SIGNATURE_TRIGGERS))
        .order_by(_e.c.seq.desc())
    )
    for row in conn.execute(query).mappings():
        data = row["data"] or {}
        if data.get("letter") == letter_id and data.get("pdf_sha256") == sha256:
            return int(row["seq"]), str(row["hash"])
    return None


def signature_certificate(conn: Connection, letter: Letter) -> str | None:
    """The certificate's name that the chain event of ``letter``'s signature recorded, or None (unsigned)."""
    instance_id = instance_of_letter(conn, letter.id) if letter.pdf_sha256 is not None else None
    if instance_id is None or letter.pdf_sha256 is None:
        return None
    query = sa.select(_e.c.data).where(_e.c.instance_id == instance_id, _e.c.trigger.in_(SIGNATURE_TRIGGERS))
    for data in conn.execute(query.order_by(_e.c.seq.desc())).scalars():
        if (data or {}).get("letter") == letter.id and data.get("pdf_sha256") == letter.pdf_sha256:
            return str(data.get("certificate") or "")
    return None


def instance_of_letter(conn: Connection, letter_id: int) -> int | None:
    """The id of the instance a letter belongs to."""
    found = conn.execute(sa.select(_l.c.instance_id).where(_l.c.id == letter_id)).scalar()
    return None if found is None else int(found)


SIGNED_TRIGGER = "(letter signed)"  # the chain event of a signature (engine.chain names actions in parentheses)
RETURNED_TRIGGER = "(letter returned)"
SEALED_TRIGGER = "(letter sealed)"  # a notice sealed as it was delivered (engine.sealed_notices)
SIGNATURE_TRIGGERS = (SIGNED_TRIGGER, SEALED_TRIGGER)
