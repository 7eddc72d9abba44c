"""The statements of a notice sealed at delivery: its sealed PDF stored, the workflow of its instance."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .records import LetterStatus
from .schema import instance, letter


def mark_sealed(
    conn: Connection, letter_id: int, *, sealed_at: datetime, pdf: bytes, sha256: str, demonstration: bool
) -> int:
    """A notice being delivered (``sending``) keeps the PDF its seal signed, its sha256, when, and whether a
    demonstration seal signed it (its bodies then say so); how many rows changed."""
    statement = (
        letter.update()
        .where(letter.c.id == letter_id, letter.c.status == LetterStatus.SENDING.value)
        .values(signed_at=sealed_at, signed_pdf=pdf, pdf_sha256=sha256, signed_demonstration=demonstration)
    )
    return int(conn.execute(statement).rowcount)


def workflow_of_letter(conn: Connection, letter_id: int) -> str | None:
    """The workflow of the instance a letter belongs to, or None for an unknown letter."""
    query = sa.select(instance.c.workflow).join(letter, letter.c.instance_id == instance.c.id)
    found = conn.execute(query.where(letter.c.id == letter_id)).scalar()
    return None if found is None else str(found)
