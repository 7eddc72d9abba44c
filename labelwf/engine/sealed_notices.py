"""A notice sealed at delivery, recorded in its instance's chain as a person's signature is.

A letter that its workflow declares a notice (``signature: seal``) goes out under the service's
seal, without a person: the outbox renders it and signs it with the seal as it delivers it. When
it is marked delivered, in the same transaction, ``NoticeRecorder`` stores the sealed PDF (the
API and the console then serve those bytes, and a letter sent again sends them) and writes a
chain event on the letter's instance holding the PDF's sha256 (``letter sealed``), so that
``letters verify`` finds the notice as it finds a signed letter. A sender killed before that
transaction leaves neither: the notice is sealed again when it is delivered again, and recorded
once.

The outbox takes the recorder from the one place that wires it (``runtime.Runtime``), so that
neither the outbox nor the store imports the engine that writes chain events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Connection

from ..errors import ActionRefused, NotFound
from ..store import fires as fires_sql
from ..store import sealed_notices as sql
from ..store.records import SEAL_POST, Event, Letter
from ..workflow.definition import DAEMON_ACTOR, SYSTEM
from .chain import Writer, chain_action

SEALED_ACTION = "letter sealed"


@dataclass(frozen=True)
class SealedNotice:
    """A notice the seal signed as it was delivered: the letter, the sealed PDF, when, and with what."""

    letter: Letter
    pdf: bytes
    sealed_at: datetime
    certificate: str
    demonstration: bool

    @property
    def sha256(self) -> str:
        """The sealed PDF's sha256, as the chain records it."""
        return hashlib.sha256(self.pdf).hexdigest()


class SealRecorder(Protocol):
    """Records a sealed notice inside the transaction that marks it delivered."""

    def __call__(self, conn: Connection, notice: SealedNotice) -> Event: ...


class NoticeRecorder:
    """Stores a sealed notice's PDF and writes its chain event, through ``engine``."""

    def __init__(self, engine: Writer) -> None:
        self.engine = engine

    def __call__(self, conn: Connection, notice: SealedNotice) -> Event:
        letter = notice.letter
        workflow = sql.workflow_of_letter(conn, letter.id)
        current = None if workflow is None else fires_sql.load_instance(conn, letter.entity, workflow)
        if workflow is None or current is None:  # pragma: no cover - a letter's instance is never deleted
            raise NotFound("instance", letter.entity)
        stored = sql.mark_sealed(
            conn,
            letter.id,
            sealed_at=notice.sealed_at,
            pdf=notice.pdf,
            sha256=notice.sha256,
            demonstration=notice.demonstration,
        )
        if not stored:  # pragma: no cover - the letter is this sender's claim until it is marked delivered
            raise ActionRefused(
                "sceller", f"lettre {letter.id}", "plus en cours d'envoi", "une lettre en cours d'envoi"
            )
        day = notice.sealed_at.astimezone(self.engine.workflow_of(current).timezone).date().isoformat()
        data: dict[str, object] = {
            "letter": letter.id,
            "template": letter.template,
            "recipient": letter.recipient.role,
            "post": SEAL_POST,
            "signed_on": day,
            "pdf_sha256": notice.sha256,
            "certificate": notice.certificate,
        }
        if notice.demonstration:
            data["demonstration"] = True
        event, _ = chain_action(
            self.engine,
            conn,
            current,
            action=SEALED_ACTION,
            data=data,
            actor=DAEMON_ACTOR,
            role=SYSTEM,
            reason=f"cachet du service sur la lettre {letter.id} ({letter.template})",
            principal=None,
        )
        return event
