"""Operators' actions on the outbox, each recorded as a chain event on the letter's instance (``chain``).

A letter is retried (``failed``, ``uncertain`` or waiting in ``retry``: queued again now) or
resolved as delivered (``uncertain``: a person checked it did go out). Retrying an uncertain
letter may send it twice: the operator's reason says they checked it had not gone out.
"""

from __future__ import annotations

from typing import Any

from ..errors import ActionRefused, NotFound, ReservedIdentity
from ..message import N_, Message, Word, listed
from ..store import fires as sql
from ..store import outbox
from ..store.records import Event, LetterStatus
from ..text import looks_like
from ..workflow.definition import DAEMON_ACTOR, OPERATOR
from .chain import chain_action
from .decision import require_justification
from .fire import Engine

RETRYABLE = (LetterStatus.FAILED, LetterStatus.UNCERTAIN, LetterStatus.RETRY)
RESOLVABLE = (LetterStatus.UNCERTAIN,)


def retry_letter(engine: Engine, letter_id: int, *, actor: str, reason: str, principal: str | None = None) -> Event:
    """Queue a failed, uncertain or waiting letter for delivery now; one chain event on its instance."""
    return _letter_action(engine, letter_id, "retry", RETRYABLE, actor=actor, reason=reason, principal=principal)


def resolve_letter(engine: Engine, letter_id: int, *, actor: str, reason: str, principal: str | None = None) -> Event:
    """Record that an uncertain letter did go out (a person checked); one chain event on its instance."""
    return _letter_action(engine, letter_id, "resolve", RESOLVABLE, actor=actor, reason=reason, principal=principal)


def _either(statuses: tuple[LetterStatus, ...]) -> Message:
    """The statuses an action expects, said in any language: ``pending or failed`` (« en attente ou en échec »)."""
    either = listed([Word(s.value) for s in statuses], sep=N_(" or "))
    return N_("%(statuses)s", statuses=either)


def _letter_action(
    engine: Engine,
    letter_id: int,
    action: str,
    allowed: tuple[LetterStatus, ...],
    *,
    actor: str,
    reason: str,
    principal: str | None,
) -> Event:
    if looks_like(actor, DAEMON_ACTOR):
        raise ReservedIdentity(f"letter {letter_id}", f"letter {action}", "actor", actor)
    require_justification(f"letter {letter_id}", f"letter {action}", actor, reason, letter=letter_id)
    if not 0 < letter_id < 2**63:
        raise NotFound("letter", letter_id, N_("`labelwf letters` lists them"))
    with engine.db.write() as conn:
        found = outbox.letter_for_action(conn, letter_id)
        if found is None:
            raise NotFound("letter", letter_id, N_("`labelwf letters` lists them"))
        subject = f"letter {letter_id} ({found['template']} to {found['recipient']} of {found['entity_id']})"
        if found["status"] not in allowed:
            raise ActionRefused(action, subject, found["status"], _either(allowed))
        current = sql.load_instance(conn, found["entity_id"], found["workflow"])
        if current is None:  # pragma: no cover - a letter's instance is never deleted
            raise NotFound("instance", found["entity_id"])
        now = engine.clock.now()
        if action == "retry":
            values: dict[str, Any] = {"status": LetterStatus.PENDING.value, "next_attempt_at": None}
            done = "letter retried"
        else:
            values = {"status": LetterStatus.DELIVERED.value, "delivered_at": now, "filed_at": now}
            done = "letter resolved as delivered"
        if not outbox.set_letter_status(conn, letter_id, found["status"], **values):  # a sender took it meanwhile
            raise ActionRefused(action, subject, "being delivered", _either(allowed))
        data = {"letter": letter_id, "template": found["template"], "recipient": found["recipient"]}
        event, _ = chain_action(
            engine,
            conn,
            current,
            action=done,
            data=data | {"was": found["status"]},
            actor=actor,
            role=OPERATOR,
            reason=reason,
            principal=principal,
        )
        return event
