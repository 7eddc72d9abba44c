"""A letter checked against the chain: its content and recipient against its checksum, the checksum
against those its event sealed, the event against the audit key.

One check for every reader of a letter: delivery refuses to send a letter that fails it, ``audit
verify`` names it, and the API and the console refuse to show it as the frozen letter. A letter
whose event predates sealing (formats 1-3) is checked against its own checksum only.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import LetterAltered, NotFound
from ..letters.render import content_checksum, letter_checksum
from ..message import N_
from ..store import Database
from ..store.records import Event, Letter
from ..store.trail import sealed_letter
from .hashing import event_hash, is_keyed

SEALING_FORMAT = 4  # the first event format whose record holds its letters' checksums


def seal_problem(
    *,
    checksum: str,
    subject: str,
    text: str,
    html: str,
    name: str,
    address: str,
    email: str,
    hash_format: int,
    sealed: Sequence[str],
) -> str | None:
    """Why a letter's stored fields do not match what was sealed when it was written, or None."""
    if hash_format < SEALING_FORMAT:  # queued before events sealed their letters: content only
        if content_checksum(subject, text, html) != checksum:
            return "its content no longer matches the checksum frozen when it was written"
        return None
    if letter_checksum(subject, text, html, name, address, email) != checksum:
        return "its content or recipient no longer matches the checksum frozen when it was written"
    if checksum not in sealed:
        return "its checksum is not one that its event sealed"
    return None


def letter_problem(letter: Letter, event: Event, key: bytes | None) -> str | None:
    """Why ``letter`` (with its bodies) is not the one its ``event`` sealed, or None.

    With ``key`` a keyed event is authenticated too, so that a letter rewritten together with the
    checksums its event holds is caught.
    """
    r = letter.recipient
    problem = seal_problem(
        checksum=letter.checksum,
        subject=letter.subject,
        text=letter.text or "",
        html=letter.html or "",
        name=r.name,
        address=r.address,
        email=r.email,
        hash_format=event.hash_format,
        sealed=event.letters,
    )
    if problem is not None:
        return problem.replace("its event", f"its event (#{event.id})")
    if is_keyed(event.hash_format) and key is not None and event_hash(event, key) != event.hash:
        return f"its event (#{event.id}) does not verify with the audit key"
    return None


def verified_letter(db: Database, letter_id: int, key: bytes | None) -> tuple[Letter, str | None]:
    """A letter with its bodies, and why it must not be shown as the frozen letter (None: it may).

    One read: the letter and its event come in one statement.
    """
    if not 0 < letter_id < 2**63:  # no such id in a 64-bit column (and the driver would refuse to send it)
        raise NotFound("letter", letter_id, N_("`labelwf letters` lists them"))
    with db.read() as conn:
        found = sealed_letter(conn, letter_id)
    if found is None:
        raise NotFound("letter", letter_id, N_("`labelwf letters` lists them"))
    letter, event = found
    return letter, letter_problem(letter, event, key)


def frozen_letter(db: Database, letter_id: int, key: bytes | None) -> Letter:
    """A letter as it was frozen when written; ``LetterAltered`` if it was changed since."""
    letter, problem = verified_letter(db, letter_id, key)
    if problem is not None:
        raise LetterAltered(letter.id, letter.entity, problem)
    return letter
